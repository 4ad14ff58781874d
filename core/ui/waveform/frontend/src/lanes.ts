// Lanes: where each region sits under the waveform, so regions that overlap stay visible and each can be
// grabbed. People's regions and machine suggestions get lanes of their own (as ELAN and Praat show tiers), and
// within each, a region goes to the first lane free at its start (regions stacked as they overlap). Pure;
// tested in test/lanes.test.ts.

import type { Region } from "./regions";

/** Lanes one kind of region may use; more overlapping regions than this share the last lane. */
export const MAX_LANES = { human: 8, suggestion: 4 } as const;

export interface Layout {
  lane: Map<number, number>; // region key -> lane row (0 is the top)
  rows: number; // lanes in all
  humanRows: number; // people's lanes come first, suggestions' after them
}

/** Stack `regions` (any order) into lanes: first-fit by start, O(n log n + n * lanes). Also src/review.ts's bands. */
export function stack(regions: Region[], limit: number, offset: number, into: Map<number, number>): number {
  const ends: number[] = []; // the end of the last region in each lane
  for (const region of [...regions].sort((a, b) => a.start - b.start || a.key - b.key)) {
    let row = ends.findIndex((end) => end <= region.start);
    if (row < 0) row = ends.length < limit ? ends.length : limit - 1;
    ends[row] = Math.max(ends[row] ?? 0, region.end);
    into.set(region.key, offset + row);
  }
  return ends.length;
}

/** The lanes of all regions: at least one lane for people's (where new regions go), suggestions' only if any. */
export function layoutLanes(regions: Region[]): Layout {
  const lane = new Map<number, number>();
  const people = regions.filter((r) => r.source !== "suggestion");
  const machine = regions.filter((r) => r.source === "suggestion");
  const humanRows = Math.max(1, stack(people, MAX_LANES.human, 0, lane));
  const rows = humanRows + stack(machine, MAX_LANES.suggestion, humanRows, lane);
  return { lane, rows, humanRows };
}

/** Give one region (new, moved or resized) a lane without laying out all the others again: the first lane of its
 * kind where nothing overlaps it, a new lane if there is room, else the last. O(n), no sort: a region let go
 * among 10,000 is shown within the frame. Changes `layout` in place. */
export function place(layout: Layout, region: Region, regions: Region[]): void {
  const suggestion = region.source === "suggestion";
  const first = suggestion ? layout.humanRows : 0;
  const count = suggestion ? layout.rows - layout.humanRows : layout.humanRows;
  const taken = new Set<number>();
  for (const other of regions) {
    if (other === region || (other.source === "suggestion") !== suggestion) continue;
    if (other.start < region.end && other.end > region.start) taken.add(layout.lane.get(other.key) ?? -1);
  }
  let row = first;
  while (row < first + count && taken.has(row)) row++;
  const limit = suggestion ? MAX_LANES.suggestion : MAX_LANES.human;
  if (row === first + count) {
    if (count >= limit) row = first + count - 1;
    else if (!suggestion) { // a new lane for people's: the suggestions' lanes move down one
      for (const other of regions) if (other.source === "suggestion") layout.lane.set(other.key, (layout.lane.get(other.key) ?? 0) + 1);
      layout.humanRows++;
      layout.rows++;
    } else layout.rows++;
  }
  layout.lane.set(region.key, row);
}
