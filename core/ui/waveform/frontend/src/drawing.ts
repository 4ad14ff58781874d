// Drawing on canvases: the peaks line, regions painted as spans (the tint over the waveform) and as marks in
// their lanes (regions too narrow at this zoom for an element of their own). Each canvas is sized to its box at
// the screen's pixel ratio. Pure enough to reason about; the end-to-end tests read the pixels.

import { fractionOf, type View } from "./timeline";

/** A view's peaks as the server sends them: times and values in -1..1 (two points per pixel: min and max). */
export interface Line {
  x: number[];
  y: number[];
}

export const WAVE_COLOR = "#4a6fa5";

/** Size `canvas` to `width` x `height` CSS pixels at the screen's ratio; its 2-D context, cleared. */
export function prepare(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  const [w, h] = [Math.max(1, Math.round(width * ratio)), Math.max(1, Math.round(height * ratio))];
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const context = canvas.getContext("2d") as CanvasRenderingContext2D;
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, w, h);
  context.scale(ratio, ratio);
  return context;
}

/** The peaks `line` over `view` on `canvas` (CSS pixels `width` x `height`): a min-max envelope. */
export function plot(canvas: HTMLCanvasElement, width: number, height: number, line: Line, view: View, color = WAVE_COLOR): void {
  const context = prepare(canvas, width, height);
  context.strokeStyle = color;
  context.lineWidth = 1;
  context.beginPath();
  for (let i = 0; i < line.x.length; i++) {
    const x = fractionOf(view, line.x[i]) * width;
    const y = (0.5 - line.y[i] / 2) * height;
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  }
  context.stroke();
}

/** A span to paint: from `start` to `end` seconds, in `row` (lanes) or over the whole height (tint). */
export interface Span {
  start: number;
  end: number;
  color: string;
  row: number;
  dashed: boolean; // a machine suggestion
}

/** A rectangle to fill: pixels from `left` to `right` in one row, one colour. */
export interface Run {
  left: number;
  right: number;
  row: number;
  fill: string;
}

/** The spans as pixel runs over `view` (`width` pixels), each at least a pixel wide, and those of one row and colour
 * that touch or overlap (closer than a pixel) merged into one: thousands of regions in a whole-file view become a
 * few runs, painted once each (no overlap darkens what it covers). */
export function runs(spans: Span[], view: View, width: number): Run[] {
  const pixels = spans.map((span) => ({
    left: Math.max(0, fractionOf(view, span.start) * width), right: Math.min(width, fractionOf(view, span.end) * width),
    row: span.row, fill: span.dashed ? "#888888" : span.color,
  })).filter((r) => r.right >= 0 && r.left <= width).map((r) => ({ ...r, right: Math.max(r.right, r.left + 1) }));
  pixels.sort((a, b) => a.row - b.row || (a.fill < b.fill ? -1 : a.fill > b.fill ? 1 : 0) || a.left - b.left);
  const merged: Run[] = [];
  for (const run of pixels) {
    const last = merged[merged.length - 1];
    if (last && last.row === run.row && last.fill === run.fill && run.left <= last.right + 1) last.right = Math.max(last.right, run.right);
    else merged.push({ ...run });
  }
  return merged;
}

/** Paint `spans` over `view`, `rowHeight` pixels a row (0: the whole height), at `alpha`. */
export function paintSpans(context: CanvasRenderingContext2D, spans: Span[], view: View, width: number, height: number,
  rowHeight: number, alpha: number): void {
  context.globalAlpha = alpha;
  for (const run of runs(spans, view, width)) {
    context.fillStyle = run.fill;
    const top = rowHeight ? run.row * rowHeight + 2 : 0;
    context.fillRect(run.left, top, run.right - run.left, rowHeight ? rowHeight - 4 : height);
  }
  context.globalAlpha = 1;
}
