// Regions on screen. Which regions in the view get an element of their own (a bar to grab, move, resize, read) and
// which are painted together on the lanes' canvas: an element costs the page far more than a rectangle on a canvas,
// so regions narrower than a few pixels at this zoom, and any beyond MAX_ELEMENTS, are painted (`splitRegions`,
// pure, test/layer.test.ts); and the layer that draws them (`RegionLayer`, read on screen by the Chromium tests).

import { paintSpans, prepare, runs, type Span } from "./drawing";
import { layoutLanes, place, type Layout } from "./lanes";
import { element } from "./palette";
import type { Region } from "./regions";
import { disagreements, layoutReview, type Group, type Person } from "./review";
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

/** What the layer reads from the component: the regions, the view, what is selected or dragged, the tag colours. */
export interface LayerHost {
  regions(): Region[];
  selected(): Region | null;
  dragged(): Region | null;
  view(): View;
  color(tag: string | undefined): string;
  mark(): number | null; // a start marked with [ and waiting for ]
  review(): Person[] | null; // review mode: the annotators whose lanes are shown (null: annotating)
  chosen(): Set<number>; // review: regions chosen to take into gold
}

/** The colour that marks a region no other person matches (review), on its bar and on the canvases. */
export const DISAGREE_COLOR = "#d0021b";

/** The waveform's own height, and each lane's under it (CSS pixels; waveform.css places the canvases so). */
export const WAVE_HEIGHT = 120;
export const LANE_HEIGHT = 22;

/** Regions on screen: a bar per region wide enough (an element, grabbed by the gestures), the rest painted in
 * their lanes, people's regions and the selected one tinted over the waveform. */
export class RegionLayer {
  layout: Layout = { lane: new Map(), rows: 1, humanRows: 1 };
  groups: Group[] = []; // review: the labelled bands of lanes
  disagree = new Set<number>(); // review: keys of regions another person has no match for
  private readonly elements = new Map<number, HTMLElement>();
  private readonly labels: HTMLElement;

  constructor(private readonly box: HTMLElement, private readonly bars: HTMLElement, private readonly shade: HTMLCanvasElement,
    private readonly lanes: HTMLCanvasElement, private readonly host: LayerHost) {
    this.labels = element("div", { class: "lane-labels", "data-testid": "earmark-lane-labels" });
    this.box.append(this.labels);
  }

  /** Lanes anew (the page's data came, regions went), then everything drawn. In review, each person's band, the
   * gold band and the suggestions' (src/review.ts), and which regions disagree. */
  relayout(): void {
    const people = this.host.review();
    const regions = this.host.regions();
    if (people) {
      const layout = layoutReview(regions, people);
      [this.layout, this.groups, this.disagree] = [layout, layout.groups, disagreements(regions)];
    } else [this.layout, this.groups, this.disagree] = [layoutLanes(regions), [], new Set()];
    this.fit();
    this.label();
    this.drawAll();
  }

  /** The bands' names at their left edge, as ELAN names its tiers. */
  private label(): void {
    this.labels.replaceChildren(...this.groups.map((group) => {
      const made = element("span", { class: `lane-label ${group.kind}`, "data-author": group.author }, group.label);
      made.style.top = `${WAVE_HEIGHT + group.first * LANE_HEIGHT}px`;
      return made;
    }));
  }

  /** One region drawn, moved or resized: a lane for it alone (src/lanes.ts `place`), the rest left where they are.
   * In review the bands are laid out again (a few people's hundreds of regions: well within a frame). */
  reposition(region: Region): void {
    if (this.host.review()) {
      this.relayout();
      return;
    }
    const rows = this.layout.rows;
    place(this.layout, region, this.host.regions());
    if (this.layout.rows !== rows) {
      this.fit();
      this.drawAll();
    } else this.draw(region, true);
    this.paint();
  }

  private fit(): void {
    this.box.style.height = `${WAVE_HEIGHT + this.layout.rows * LANE_HEIGHT}px`;
    this.box.dataset.lanes = String(this.layout.rows);
  }

  /** Elements for the regions in view wide enough to grab (and the selected and dragged ones), the rest painted. */
  drawAll(): void {
    const keep = new Set<Region>([this.host.selected(), this.host.dragged()].filter(Boolean) as Region[]);
    const view = this.host.view();
    const { elements } = splitRegions(this.host.regions(), view, this.width(), keep);
    const shown = new Set(elements.map((r) => r.key));
    for (const [key, made] of this.elements) {
      if (!shown.has(key)) {
        made.remove();
        this.elements.delete(key);
      }
    }
    for (const region of elements) this.show(region, view);
    this.paint();
  }

  private width(): number {
    return this.box.clientWidth || 800;
  }

  /** Paint the canvases before the next frame, once however many changes ask for it meanwhile (a mouse-up among
   * 10,000 regions redraws a bar, selects it and saves it: one paint). */
  paint(): void {
    if (this.painting) return;
    this.painting = true;
    requestAnimationFrame(() => {
      this.painting = false;
      this.paintNow();
    });
  }

  private painting = false;

  /** The canvases: people's regions (and the selected one) tinted over the waveform; the lanes, with the regions
   * that have no element of their own painted in theirs. */
  private paintNow(): void {
    const [view, width, rows] = [this.host.view(), this.width(), this.layout.rows];
    const inView = this.host.regions().filter((r) => r.end > view.start && r.start < view.end);
    const span = (r: Region): Span => ({ start: r.start, end: r.end, color: this.host.color(r.tags[0]),
      row: this.layout.lane.get(r.key) ?? 0, dashed: r.source === "suggestion" });
    const tint = prepare(this.shade, width, WAVE_HEIGHT);
    paintSpans(tint, inView.filter((r) => r.source !== "suggestion").map(span), view, width, WAVE_HEIGHT, 0, 0.14);
    const [selected, mark] = [this.host.selected(), this.host.mark()];
    if (selected) paintSpans(tint, [span(selected)], view, width, WAVE_HEIGHT, 0, 0.22);
    if (mark !== null) paintSpans(tint, [{ start: mark, end: mark, color: "#d33", row: 0, dashed: false }], view, width, WAVE_HEIGHT, 0, 0.9);
    const lanes = prepare(this.lanes, width, rows * LANE_HEIGHT);
    lanes.fillStyle = "rgba(120, 120, 140, 0.10)"; // suggestions' lanes, apart from people's
    lanes.fillRect(0, this.layout.humanRows * LANE_HEIGHT, width, (rows - this.layout.humanRows) * LANE_HEIGHT);
    lanes.fillStyle = "rgba(0, 0, 0, 0.12)";
    for (let row = 1; row < rows; row++) lanes.fillRect(0, row * LANE_HEIGHT, width, 1);
    paintSpans(lanes, inView.filter((r) => !this.elements.has(r.key)).map(span), view, width, rows * LANE_HEIGHT, LANE_HEIGHT, 0.8);
    if (this.groups.length) this.paintReview(tint, lanes, inView, width, span);
  }

  /** Review: the gold band tinted, and each region no other person matches marked in red, along the foot of its
   * lane and as a band along the top of the waveform, so where people disagree shows at any zoom. */
  private paintReview(tint: CanvasRenderingContext2D, lanes: CanvasRenderingContext2D, inView: Region[], width: number,
    span: (r: Region) => Span): void {
    const view = this.host.view();
    const gold = this.groups.find((g) => g.kind === "gold");
    if (gold) {
      lanes.fillStyle = "rgba(212, 160, 23, 0.16)";
      lanes.fillRect(0, gold.first * LANE_HEIGHT, width, gold.rows * LANE_HEIGHT);
    }
    const marked = inView.filter((r) => this.disagree.has(r.key)).map((r) => ({ ...span(r), color: DISAGREE_COLOR, dashed: false }));
    for (const run of runs(marked, view, width)) {
      lanes.fillStyle = DISAGREE_COLOR;
      lanes.fillRect(run.left, (run.row + 1) * LANE_HEIGHT - 4, run.right - run.left, 3);
    }
    paintSpans(tint, marked.map((m) => ({ ...m, row: 0 })), view, width, 8, 8, 0.85);
  }

  /** Update the region's bar (`create`: make one if it has none; the selected and the dragged always get one). */
  draw(region: Region, create = false): void {
    const view = this.host.view();
    const keep = create || region === this.host.selected() || region === this.host.dragged();
    const made = this.elements.get(region.key);
    const visible = this.host.regions().includes(region) && region.end > view.start && region.start < view.end;
    if (!visible) {
      made?.remove();
      this.elements.delete(region.key);
      return;
    }
    if (!made && !keep) return; // painted on the lanes' canvas
    this.show(region, view);
  }

  /** The bar of a region known to be in the list and in the view (made if it has none): what drawAll calls for
   * each of up to MAX_ELEMENTS regions, without looking the region up among all of them again. */
  private show(region: Region, view: View): void {
    let made = this.elements.get(region.key);
    if (!made) {
      made = element("div", { "data-testid": "earmark-region" });
      made.append(element("span"));
      this.elements.set(region.key, made);
      this.bars.append(made);
    }
    this.fill(made, region, view);
  }

  private fill(made: HTMLElement, region: Region, view: View): void {
    const suggestion = region.source === "suggestion";
    const lane = this.layout.lane.get(region.key) ?? 0;
    Object.assign(made.dataset, {
      key: String(region.key), id: region.id ?? "", start: String(region.start), end: String(region.end),
      tags: region.tags.join(";"), source: region.source, text: region.text, lane: String(lane),
      saved: region.id && !region.busy && !region.draft ? "true" : "false", error: region.error, author: region.author,
    });
    made.className = ["region", region.source, region === this.host.selected() ? "selected" : "", region.error ? "refused" : "",
      region.mine || suggestion ? "" : "others", region.gold ? "gold" : "", this.disagree.has(region.key) ? "disagree" : "",
      this.host.chosen().has(region.key) ? "chosen" : ""].filter(Boolean).join(" ");
    made.title = region.error || (suggestion ? `Suggested by ${region.bot}: A accepts, R rejects` : region.text);
    made.style.setProperty("--tag-color", this.host.color(region.tags[0]));
    const left = Math.max(0, fractionOf(view, region.start));
    const right = Math.min(1, fractionOf(view, region.end));
    made.style.left = `${left * 100}%`;
    made.style.width = `${(right - left) * 100}%`;
    made.style.top = `${WAVE_HEIGHT + lane * LANE_HEIGHT}px`;
    const label = (suggestion ? "? " : "") + (region.tags.join(", ") || "(no tag yet)") + (region.text ? ` “${region.text}”` : "")
      + (suggestion ? ` · ${region.bot}` : ""); // the tags first: a narrow bar still shows them
    (made.firstChild as HTMLElement).textContent = region.error ? `⚠ ${label}` : label;
  }

  /** The region whose bar `target` is (or is inside), if any. */
  regionAt(target: EventTarget | null): Region | null {
    const found = (target as HTMLElement | null)?.closest?.("[data-testid=earmark-region]") as HTMLElement | null;
    if (!found) return null;
    return this.host.regions().find((r) => String(r.key) === found.dataset.key) ?? null;
  }

  /** Where the region's bar is on screen (null: it has none). */
  bar(region: Region): DOMRect | null {
    return this.elements.get(region.key)?.getBoundingClientRect() ?? null;
  }
}
