// Review: a reviewer sees each annotator's regions in lanes of their own, labelled with the person, where they
// disagree marked, and a gold lane (the version they accept) under them that they edit. This module is the pure
// part: which lane each region takes, which regions have no counterpart in another person's lane, and what a
// "take into gold" asks for. Tested in test/review.test.ts; drawn by src/layer.ts, wired in src/waveform.ts.

import { MAX_LANES, stack, type Layout } from "./lanes";
import type { Region } from "./regions";

/** A person whose regions the review shows, in the order the page lists them (core/ui/waveform/__init__.py). */
export interface Person {
  id: string;
  name: string;
}

/** The overlap two regions must reach to count as the same segment (as core/team/agreement.py matches them). */
export const MATCH_IOU = 0.5;

/** A band of lanes under the waveform: one person's, the gold version's, or the machine suggestions'. */
export interface Group {
  kind: "person" | "gold" | "suggestion";
  label: string;
  first: number; // its first lane row
  rows: number;
  author: string; // the person's id ("" for gold and suggestions)
}

export interface ReviewLayout extends Layout {
  groups: Group[];
}

/** Intersection over union of two time spans (0 when they do not overlap). */
export function iou(a: { start: number; end: number }, b: { start: number; end: number }): number {
  const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (overlap <= 0) return 0;
  return overlap / (Math.max(a.end, b.end) - Math.min(a.start, b.start));
}

/** Which group a region belongs in: gold, suggestion, or the person who made it. */
export function groupOf(region: Region): string {
  if (region.gold) return "gold";
  if (region.source === "suggestion") return "suggestion";
  return `person:${region.author}`;
}

/** Lanes for review: each person's band (labelled, at least one row, even with no regions: "made none" is worth
 * seeing), then gold (where new regions go), then suggestions if any. A person the page did not name but whose
 * regions are here gets a band too, after the named ones. O(n log n). `humanRows` counts every band above the
 * suggestions, so src/lanes.ts `place` keeps a moved gold region above them. */
export function layoutReview(regions: Region[], people: Person[]): ReviewLayout {
  const byGroup = new Map<string, Region[]>();
  for (const region of regions) {
    const group = groupOf(region);
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)?.push(region);
  }
  const named = new Set(people.map((p) => p.id));
  const unnamed = [...byGroup.keys()].filter((g) => g.startsWith("person:") && !named.has(g.slice(7)))
    .map((g) => ({ id: g.slice(7), name: g.slice(7) || "someone" }));
  const lane = new Map<number, number>();
  const groups: Group[] = [];
  let row = 0;
  for (const person of [...people, ...unnamed]) {
    const rows = Math.max(1, stack(byGroup.get(`person:${person.id}`) ?? [], MAX_LANES.human, row, lane));
    groups.push({ kind: "person", label: person.name, first: row, rows, author: person.id });
    row += rows;
  }
  const goldRows = Math.max(1, stack(byGroup.get("gold") ?? [], MAX_LANES.human, row, lane));
  groups.push({ kind: "gold", label: "Gold", first: row, rows: goldRows, author: "" });
  row += goldRows;
  const humanRows = row;
  const machine = stack(byGroup.get("suggestion") ?? [], MAX_LANES.suggestion, row, lane);
  if (machine) groups.push({ kind: "suggestion", label: "Suggestions", first: row, rows: machine, author: "" });
  return { lane, rows: row + machine, humanRows, groups };
}

/** Whether two regions are the same segment: IoU at least MATCH_IOU and a tag in common (or neither tagged). */
export function matches(a: Region, b: Region): boolean {
  if (iou(a, b) < MATCH_IOU) return false;
  if (!a.tags.length && !b.tags.length) return true;
  return a.tags.some((t) => b.tags.includes(t));
}

/** The keys of people's regions (not gold, not suggestions) that some other person on the sound has no matching
 * region for: what the reviewer has to decide. Each person's regions are sorted once; a region is compared only
 * with the other's regions that start before it ends, so disjoint lanes cost O(n log n). */
export function disagreements(regions: Region[]): Set<number> {
  const byPerson = new Map<string, Region[]>();
  for (const region of regions) {
    if (region.gold || region.source === "suggestion") continue;
    if (!byPerson.has(region.author)) byPerson.set(region.author, []);
    byPerson.get(region.author)?.push(region);
  }
  for (const list of byPerson.values()) list.sort((a, b) => a.start - b.start);
  const marked = new Set<number>();
  for (const [author, own] of byPerson) {
    for (const [other, theirs] of byPerson) {
      if (other === author) continue;
      for (const region of own) if (!hasMatch(region, theirs)) marked.add(region.key);
    }
  }
  return marked;
}

/** Whether `sorted` (by start) holds a region matching `region`. A match overlaps it by at least half its union,
 * so it starts after region.start - region's length and before its end: a binary search finds the first. */
function hasMatch(region: Region, sorted: Region[]): boolean {
  const from = region.start - (region.end - region.start);
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].start < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sorted.length && sorted[i].start < region.end; i++) if (matches(region, sorted[i])) return true;
  return false;
}

/** What a "take into gold" asks the page to do: copy these annotations (by id) into the gold version. Regions not
 * yet stored, gold ones and suggestions are left out; the ids in the order the regions start. */
export function takeRequest(regions: Region[]): { ids: string[] } {
  const ids = regions.filter((r) => r.id && !r.gold && r.source !== "suggestion")
    .sort((a, b) => a.start - b.start).map((r) => r.id as string);
  return { ids };
}
