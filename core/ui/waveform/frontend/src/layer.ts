// Which regions in the view get an element of their own (to grab, move, resize, read) and which are painted
// together on the lanes' canvas: an element costs the page far more than a rectangle on a canvas, so regions
// narrower than a few pixels at this zoom, and any beyond MAX_ELEMENTS, are painted. Pure; test/layer.test.ts.

import type { Region } from "./regions";
import { fractionOf, type View } from "./timeline";

/** Regions narrower than this (CSS pixels) are painted, not given an element. */
export const MIN_ELEMENT_PIXELS = 4;
/** At most this many elements at once, whatever the zoom. */
export const MAX_ELEMENTS = 400;

export interface Split {
  elements: Region[]; // in the view and wide enough: one element each
  painted: Region[]; // in the view, drawn on the canvas
}

/** Split the regions in `view` (shown `width` pixels wide); `keep` (the selected, the dragged) always get one. */
export function splitRegions(regions: Region[], view: View, width: number, keep: Set<Region> = new Set()): Split {
  const elements: Region[] = [];
  const painted: Region[] = [];
  for (const region of regions) {
    if (!(region.end > view.start && region.start < view.end)) continue;
    const pixels = (fractionOf(view, region.end) - fractionOf(view, region.start)) * width;
    const wide = pixels >= MIN_ELEMENT_PIXELS && elements.length < MAX_ELEMENTS;
    if (wide || keep.has(region)) elements.push(region);
    else painted.push(region);
  }
  return { elements, painted };
}
