// Regions: the annotations as the component holds them, and the pure rules for editing them (which grip a press
// takes, what a drag makes of a region, toggling a tag, merging what the page sends with what is being edited
// here). Tested in test/regions.test.ts.

export type Source = "human" | "suggestion";

/** An annotation as the page sends it (core/ui/waveform/__init__.py `region`). */
export interface ServerRegion {
  id: string;
  start: number;
  end: number;
  tags: string[];
  text: string;
  source: Source;
  bot: string;
  version: number;
  mine: boolean;
  origin: string; // a suggestion's analyzer and parameters (its `source` in the API); "" for people's
  author?: string; // who made it (a user id): review lays each person's regions in their own lane
  gold?: boolean; // part of the reviewer's gold version of the sound (annotations.is_gold)
}

/** A suggestion as its analyzer made it: what undoing a review of it brings back. */
export interface Suggested {
  start: number;
  end: number;
  tags: string[];
  text: string;
}

/** An annotation on screen: what the server has, or what it will have once the pending change is saved. */
export interface Region {
  key: number; // stable for the life of the component, whatever the id
  id: string | null; // null until a new region is stored
  start: number;
  end: number;
  tags: string[];
  text: string;
  source: Source;
  bot: string; // the featurebot that suggested it ("" for people's)
  version: number | null;
  mine: boolean; // this person may change it (their own; administrators: any)
  busy: number; // changes sent and not yet answered
  draft: boolean; // a suggestion changed here and not yet accepted
  error: string; // why the last change was refused ("" if it was not)
  local: boolean; // made in this component and not yet seen in the page's data
  origin: string; // a suggestion's analyzer and parameters ("" for people's)
  suggested: Suggested | null; // a suggestion as suggested, before any change made here
  author: string; // who made it ("" when not known, and for regions drawn here until the page's data has them)
  gold: boolean; // in the gold version (review: src/review.ts)
}

export type Grip = "start" | "end" | "body";

/** Shortest region a drag can make, in seconds. */
export const MIN_REGION_SECONDS = 0.01;
/** How close to a region's edge (pixels) a press grabs the edge rather than the body. */
export const EDGE_PIXELS = 6;

/** Which part of a region a press at `offset` pixels from its left edge takes; narrow regions keep a middle. */
export function gripAt(offset: number, width: number, edge = EDGE_PIXELS): Grip {
  const reach = Math.min(edge, width / 3);
  if (offset <= reach) return "start";
  if (offset >= width - reach) return "end";
  return "body";
}

/** The bounds a drag of `delta` seconds on `grip` gives, kept inside the sound and at least MIN_REGION_SECONDS. */
export function dragged(grip: Grip, from: { start: number; end: number }, delta: number, duration: number): { start: number; end: number } {
  delta = Math.round(delta * 1000) / 1000; // to the millisecond, as drawn regions are (src/timeline.ts toMillisecond)
  if (grip === "body") {
    const length = from.end - from.start;
    const start = Math.min(Math.max(0, from.start + delta), duration - length);
    return { start, end: start + length };
  }
  if (grip === "start") {
    return { start: Math.min(Math.max(0, from.start + delta), from.end - MIN_REGION_SECONDS), end: from.end };
  }
  return { start: from.start, end: Math.max(Math.min(duration, from.end + delta), from.start + MIN_REGION_SECONDS) };
}

/** The tags with `tag` added, or taken off if it was there (order kept). */
export function toggleTag(tags: string[], tag: string): string[] {
  return tags.includes(tag) ? tags.filter((t) => t !== tag) : [...tags, tag];
}

/** A tag typed by hand in the form the server keeps (core.catalogue.tags.clean_tag): spaces collapsed, lower case. */
export function cleanTag(typed: string): string {
  return typed.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
}

let keys = 0;

export function fromServer(r: ServerRegion): Region {
  return { ...r, tags: [...r.tags], key: ++keys, busy: 0, draft: false, error: "", local: false, origin: r.origin ?? "",
    author: r.author ?? "", gold: r.gold ?? false,
    suggested: r.source === "suggestion" ? { start: r.start, end: r.end, tags: [...r.tags], text: r.text } : null };
}

export function newRegion(start: number, end: number, tags: string[], gold = false): Region {
  return { key: ++keys, id: null, start, end, tags, text: "", source: "human", bot: "", version: null, mine: true,
    busy: 0, draft: false, error: "", local: true, origin: "", suggested: null, author: "", gold };
}

/**
 * The regions to show after the page sent `incoming` (its view of the database at its last run):
 * a region being saved here, or changed here more recently than the page's copy, keeps what it shows; one the
 * page no longer has is dropped unless it was made here and the page has not caught up; regions deleted here
 * stay gone even if a page run older than the deletion still lists them.
 */
export function mergeRegions(current: Region[], incoming: ServerRegion[], deleted: Set<string>): Region[] {
  const byId = new Map(current.filter((r) => r.id).map((r) => [r.id as string, r]));
  const seen = new Set<string>();
  const merged: Region[] = [];
  for (const r of incoming) {
    if (deleted.has(r.id)) continue;
    seen.add(r.id);
    const mine = byId.get(r.id);
    if (!mine) {
      merged.push(fromServer(r));
      continue;
    }
    mine.local = false;
    if (!mine.busy && !mine.draft && (mine.version ?? 0) <= r.version) {
      Object.assign(mine, { start: r.start, end: r.end, tags: [...r.tags], text: r.text, version: r.version, mine: r.mine,
        author: r.author ?? mine.author, gold: r.gold ?? mine.gold });
      if (r.source === "suggestion") mine.suggested = { start: r.start, end: r.end, tags: [...r.tags], text: r.text };
    }
    merged.push(mine);
  }
  for (const r of current) {
    if ((r.id === null || !seen.has(r.id)) && (r.local || r.busy)) merged.push(r);
  }
  return merged.sort((a, b) => a.start - b.start || a.key - b.key);
}
