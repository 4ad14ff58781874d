// The component: one view of the sound drawn from the server's peaks windows, with its regions in lanes under the
// waveform, played, and edited directly. It wires the parts together: drawing (src/drawing.ts), which regions get
// elements (src/layer.ts), lanes (src/lanes.ts), pointer gestures (src/gestures.ts), saving (src/saving.ts),
// undo (src/history.ts), keys (src/keys.ts), playback (src/playback.ts) and the spectrogram (src/spectrogram.ts).

import { Api } from "./api";
import { paintSpans, plot, prepare, type Line, type Span } from "./drawing";
import { Gestures, type Gesture } from "./gestures";
import { History } from "./history";
import { commandOf, takesKeys, typesItself, type Command } from "./keys";
import { layoutLanes, place, type Layout } from "./lanes";
import { splitRegions } from "./layer";
import { Playback, RATES } from "./playback";
import { cleanTag, mergeRegions, newRegion, toggleTag, type Region, type ServerRegion } from "./regions";
import { Saver, type Changes } from "./saving";
import { Spectrogram } from "./spectrogram";
import { clampView, fractionOf, shiftView, ticks, timeAt, timeLabel, wheelFactor, zoomView, type View } from "./timeline";

/** What the page sends on every run (core/ui/waveform/__init__.py `waveform`). */
export interface Data {
  sound_id: string;
  duration: number;
  api: string;
  token: string;
  audio_url: string;
  regions: ServerRegion[];
  tags: string[];
  colors: Record<string, string>;
  token_seconds: number; // how long the page token is good for
  spectrogram_max_seconds: number; // longer views have no spectrogram (the server reads the audio to draw one)
  channel: number | null; // the one channel shown and given to new regions (null: all together)
}

/** Ask the page for a run, saying why: "renew" (it brings a fresh page token) or "changed" (annotations were
 * saved here: the page's table and counts catch up); Streamlit's setTriggerValue. */
export type Rerun = (why: "renew" | "changed") => void;

/** How long after the last change saved here the page is asked to catch up (one run for a burst of edits). */
const CATCH_UP_MS = 2000;
/** The waveform's own height, and each lane's under it (CSS pixels). */
export const WAVE_HEIGHT = 120;
export const LANE_HEIGHT = 22;

/** The waveforms on the page: with only one, it takes the keys wherever the pointer is. */
const live = new Set<Waveform>();

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.textContent = text; // text, never HTML: tags and transcriptions are people's input
  return made;
}

export class Waveform {
  private readonly find: <T extends Element>(selector: string) => T;
  private readonly box: HTMLElement;
  private readonly wave: HTMLCanvasElement; // the peaks line
  private readonly shade: HTMLCanvasElement; // regions tinted over the waveform
  private readonly lanes: HTMLCanvasElement; // the lanes, and the regions too narrow for an element
  private readonly layer: HTMLElement; // regions' elements, in their lanes
  private readonly playhead: HTMLElement;
  private readonly status: HTMLElement;
  private readonly palette: HTMLElement;
  private readonly editor: HTMLInputElement;
  private readonly clock: HTMLElement;
  private readonly ruler: HTMLElement;
  private readonly overview: HTMLElement;
  private readonly cleanups: (() => void)[] = [];
  private readonly api = new Api("", "");
  private readonly saver: Saver;
  private readonly history = new History();
  private readonly gestures: Gestures;
  private readonly playback: Playback;
  private readonly spectrogram: Spectrogram;
  private data!: Data;
  private regions: Region[] = [];
  private layout: Layout = { lane: new Map(), rows: 1, humanRows: 1 };
  private readonly elements = new Map<number, HTMLElement>();
  private extraTags: string[] = [];
  private selected: Region | null = null;
  private current: string | null = null; // the tag new regions get
  private view: View = { start: 0, end: 0 };
  private line: Line | null = null;
  private pending: AbortController | null = null;
  private pointerOver = false;
  private pointer: number | null = null; // the time under the pointer, while it is over the waveform
  private mark: number | null = null; // a start marked with [ at the playhead, waiting for ]
  private steering = false; // a press on the overview is moving the view
  private tokenAt = 0; // when the page's current token arrived
  private renewing = false;
  private catchUp = 0; // the timer that asks the page to catch up with changes saved here
  private firstView = false;

  constructor(root: HTMLElement | ShadowRoot, private readonly rerun: Rerun) {
    this.find = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    this.box = this.find("[data-testid=earmark-waveform]");
    this.wave = this.find("canvas.wave");
    this.shade = this.find("canvas.shade");
    this.lanes = this.find("canvas.lanes");
    this.layer = this.find(".regions");
    this.playhead = this.find("[data-testid=earmark-playhead]");
    this.status = this.find(".status");
    this.palette = this.find(".palette");
    this.editor = this.find(".text-editor");
    this.clock = this.find(".clock");
    this.ruler = this.find(".ruler");
    this.overview = this.find("[data-testid=earmark-overview]");
    this.saver = new Saver(this.api, {
      redraw: (r) => this.drawRegion(r), drop: (r) => this.drop(r), restore: (r) => this.restore(r),
      say: (m) => this.say(m), saved: () => this.saved(),
    }, () => ({ id: this.data.sound_id, channel: this.data.channel ?? null }));
    this.playback = new Playback(this.find("audio"), this.find(".play"), { at: (t) => this.follow(t), say: (m) => this.say(m) });
    this.spectrogram = new Spectrogram(this.find(".spectrogram"), this.find(".spectrogram-note"), this.api, (m) => this.say(m));
    this.gestures = new Gestures(this.box, {
      regionAt: (t) => this.regionAt(t), edgeBox: (r) => this.elements.get(r.key)?.getBoundingClientRect() ?? null,
      timeAt: (x) => this.timeAtX(x), secondsPerPixel: () => this.secondsPerPixel(), duration: () => this.data.duration,
      mayChange: (r) => this.editable(r), draw: (a, b, g) => this.drawing(a, b, g), shown: (r) => this.moved(r),
      done: (g) => this.released(g), click: (r, x) => this.clicked(r, x), abandoned: (g) => this.abandoned(g),
      pinch: (f, x) => this.zoom(f, this.timeAtX(x)), focus: () => this.box.focus({ preventScroll: true }),
    });
    this.buildToolbar();
    this.listen();
    live.add(this);
  }

  /** Everything registered outside the component's own elements, so that unmounting leaves nothing running. */
  private listen(): void {
    const on = <E extends Event>(target: EventTarget, type: string, handler: (e: E) => void, options?: AddEventListenerOptions) => {
      target.addEventListener(type, handler as EventListener, options);
      this.cleanups.push(() => target.removeEventListener(type, handler as EventListener, options));
    };
    on<KeyboardEvent>(window, "keydown", (e) => this.key(e), { capture: true });
    on<PointerEvent>(this.box, "pointerenter", () => { this.pointerOver = true; });
    on<PointerEvent>(this.box, "pointerleave", () => { this.pointerOver = false; this.pointer = null; });
    on<PointerEvent>(this.box, "pointermove", (e) => this.hover(e));
    on<WheelEvent>(this.box, "wheel", (e) => this.wheel(e), { passive: false });
    on<PointerEvent>(this.overview, "pointerdown", (e) => {
      this.steering = true;
      this.overview.setPointerCapture?.(e.pointerId);
      this.steer(e);
      e.preventDefault();
    });
    on<PointerEvent>(this.overview, "pointermove", (e) => { if (this.steering) this.steer(e); });
    on<PointerEvent>(this.overview, "pointerup", () => { this.steering = false; });
    on<KeyboardEvent>(this.editor, "keydown", (e) => this.editorKey(e));
    const resize = new ResizeObserver(() => { this.drawRuler(); this.load(); this.loadOverview(); this.drawRegions(); });
    resize.observe(this.box);
    this.cleanups.push(() => resize.disconnect());
    const timer = window.setInterval(() => this.renewToken(), 30_000);
    this.cleanups.push(() => window.clearInterval(timer));
  }

  /** Streamlit unmounts the component: stop listening, fetching and playing. */
  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    window.clearTimeout(this.catchUp);
    this.pending?.abort();
    this.spectrogram.stop();
    this.playback.stop();
    live.delete(this);
  }

  /** Someone may annotate for hours without touching the page around this component: halfway through the page
   * token's life, ask for a page run, which hands over a new one (the old one stays good meanwhile). */
  renewToken(force = false): void {
    if (!this.data || this.renewing) return;
    if (!force && Date.now() - this.tokenAt < (this.data.token_seconds * 1000) / 2) return;
    this.renewing = true;
    this.rerun("renew");
  }

  // -- the page's data ------------------------------------------------------------------------------------

  update(data: Data): void {
    const fresh = !this.data || this.data.sound_id !== data.sound_id;
    const otherChannel = !fresh && this.data.channel !== data.channel;
    this.data = data;
    this.api.base = data.api;
    if (data.token !== this.api.token) {
      this.api.token = data.token;
      this.tokenAt = Date.now();
      this.renewing = false;
    }
    if (fresh) {
      this.regions = [];
      this.saver.deleted.clear();
      this.history.clear();
      this.selected = null;
      this.mark = null;
    }
    this.regions = mergeRegions(this.regions, data.regions || [], this.saver.deleted);
    if (this.selected && !this.regions.includes(this.selected)) this.selected = null;
    if (!this.current || !this.tags().includes(this.current)) this.current = this.tags()[0] ?? null;
    this.drawPalette();
    if (fresh) {
      performance.mark("earmark:sound"); // bench/waveform.py reads "earmark:first-view": mounted -> drawn
      this.firstView = true;
      this.view = { start: 0, end: data.duration };
      this.playback.load(data.audio_url);
      this.drawRuler();
      this.load();
      this.loadOverview();
    }
    if (otherChannel) this.load();
    this.relayout();
    this.follow(this.playback.now);
  }

  /** The palette: the dataset's tags in the order the page gives (the order people made them), then typed ones. */
  private tags(): string[] {
    const given = this.data.tags || [];
    return [...given, ...this.extraTags.filter((t) => !given.includes(t))];
  }

  // -- the view ---------------------------------------------------------------------------------------------

  private timeAtX(clientX: number): number {
    const rect = this.box.getBoundingClientRect();
    return timeAt(this.view, (clientX - rect.left) / rect.width);
  }

  private secondsPerPixel(): number {
    return (this.view.end - this.view.start) / Math.max(1, this.box.getBoundingClientRect().width);
  }

  private setView(view: View): void {
    this.view = view;
    this.drawRuler();
    this.placeWindow();
    this.drawRegions(); // regions and playhead follow at once; the waveform when its window arrives
    this.follow(this.playback.now, false);
    this.load();
  }

  private zoom(factor: number, around: number): void {
    this.setView(zoomView(this.view, factor, around, this.data.duration));
  }

  private wheel(event: WheelEvent): void {
    event.preventDefault(); // the page does not scroll (nor zoom, for a pinch) while the pointer is here
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      this.setView(shiftView(this.view, 0.1 * Math.sign(event.deltaX || event.deltaY), this.data.duration));
      return;
    }
    this.zoom(wheelFactor(event.deltaY, event.ctrlKey), this.timeAtX(event.clientX));
  }

  private peaksQuery(start: number, end: number, points: number): URLSearchParams {
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4), points: String(points) });
    if (this.data.channel !== null && this.data.channel !== undefined) query.set("channel", String(this.data.channel));
    return query;
  }

  /** Ask the server for exactly the window shown (two points per pixel); a newer view cancels an older request. */
  private async load(): Promise<void> {
    if (!this.data) return;
    const { start, end } = this.view;
    this.box.dataset.ready = "false";
    this.pending?.abort();
    const controller = (this.pending = new AbortController());
    const width = Math.max(10, Math.min(2500, Math.round(this.box.clientWidth || 800)));
    try {
      this.line = await this.api.call<Line>("GET", `/sounds/${this.data.sound_id}/peaks?${this.peaksQuery(start, end, 2 * width)}`,
        undefined, controller.signal);
      if (controller !== this.pending) return;
      this.draw({ start, end });
      void this.spectrogram.show(this.data.sound_id, { start, end }, this.data.channel ?? null, this.data.spectrogram_max_seconds);
    } catch (error) {
      if ((error as Error).name !== "AbortError") this.say(`The waveform could not be loaded: ${(error as Error).message}`);
    }
  }

  /** The view's peaks on the waveform's own canvas; `data-ready` says the view is on the screen. */
  private draw(view: View): void {
    if (!this.line) return;
    plot(this.wave, this.box.clientWidth, WAVE_HEIGHT, this.line, view);
    this.box.dataset.viewStart = view.start.toFixed(4);
    this.box.dataset.viewEnd = view.end.toFixed(4);
    this.box.dataset.ready = "true";
    if (this.firstView) {
      this.firstView = false;
      performance.measure("earmark:first-view", "earmark:sound");
    }
  }

  /** The whole sound in the overview strip (once per sound and width), and where the view lies on it. */
  private async loadOverview(): Promise<void> {
    if (!this.data) return;
    const width = Math.max(10, Math.min(2500, Math.round(this.overview.clientWidth || 800)));
    try {
      const line = await this.api.call<Line>("GET", `/sounds/${this.data.sound_id}/peaks?${this.peaksQuery(0, this.data.duration, 2 * width)}`);
      plot(this.find("[data-testid=earmark-overview] canvas"), this.overview.clientWidth, this.overview.clientHeight, line,
        { start: 0, end: this.data.duration });
      this.overview.dataset.ready = "true";
      this.placeWindow();
    } catch (error) {
      this.say(`The overview could not be loaded: ${(error as Error).message}`);
    }
  }

  private placeWindow(): void {
    if (!this.data) return;
    const whole = { start: 0, end: this.data.duration };
    const frame = this.find<HTMLElement>("[data-testid=earmark-overview] .window");
    frame.style.left = `${fractionOf(whole, this.view.start) * 100}%`;
    frame.style.width = `${Math.max(0.3, (fractionOf(whole, this.view.end) - fractionOf(whole, this.view.start)) * 100)}%`;
  }

  /** A press or drag on the overview centres the view there, keeping its length. */
  private steer(event: PointerEvent): void {
    const rect = this.overview.getBoundingClientRect();
    const at = timeAt({ start: 0, end: this.data.duration }, (event.clientX - rect.left) / rect.width);
    const half = (this.view.end - this.view.start) / 2;
    this.setView(clampView(at - half, at + half, this.data.duration));
  }

  private drawRuler(): void {
    const { step, times } = ticks(this.view, this.box.clientWidth || 800);
    this.ruler.replaceChildren(...times.map((t) => {
      const mark = element("span", {}, timeLabel(t, step));
      mark.style.left = `${fractionOf(this.view, t) * 100}%`;
      return mark;
    }));
  }

  // -- the palette and the toolbar ---------------------------------------------------------------------------

  private drawPalette(): void {
    const buttons = this.tags().map((tag, i) => {
      const button = element("button", { "data-testid": "earmark-tag", "data-tag": tag, type: "button",
        title: i < 9 ? `Key ${i + 1}: new regions get this tag; on a selected region, adds or removes it` : "" },
        i < 9 ? `${i + 1} ${tag}` : tag);
      button.className = tag === this.current ? "current" : "";
      button.style.setProperty("--tag-color", this.color(tag));
      button.addEventListener("click", () => (this.selected ? this.labelSelected(tag) : this.choose(tag)));
      return button;
    });
    const typed = element("input", { class: "new-tag", placeholder: "new tag ↵", "aria-label": "New tag", maxlength: "100" });
    typed.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Escape") return this.box.focus();
      if (event.key !== "Enter") return;
      const tag = cleanTag(typed.value);
      if (!tag) return;
      if (/[;,]/.test(tag)) return this.say("A tag must not contain ';' or ','.");
      if (!this.tags().includes(tag)) this.extraTags.push(tag);
      typed.value = "";
      if (this.selected) this.labelSelected(tag, true);
      else this.current = tag;
      this.drawPalette();
      this.box.focus();
    });
    this.palette.replaceChildren(...buttons, typed);
  }

  private buildToolbar(): void {
    this.find(".play").addEventListener("click", () => this.playback.toggle());
    this.find(".loop").addEventListener("click", () => this.toggleLoop());
    const toggle = this.find<HTMLButtonElement>(".spectrogram-toggle");
    toggle.addEventListener("click", () => {
      this.spectrogram.on = !this.spectrogram.on;
      toggle.classList.toggle("on", this.spectrogram.on);
      toggle.setAttribute("aria-pressed", String(this.spectrogram.on));
      void this.spectrogram.show(this.data.sound_id, this.view, this.data.channel ?? null, this.data.spectrogram_max_seconds);
    });
    const rate = this.find<HTMLSelectElement>(".rate");
    rate.replaceChildren(...RATES.map((r) => {
      const option = element("option", { value: String(r) }, `${r}×`);
      option.selected = r === 1;
      return option;
    }));
    rate.addEventListener("change", () => { this.playback.rate = Number(rate.value); });
  }

  private color(tag: string | undefined): string {
    return (tag && this.data.colors?.[tag]) || "#4a6fa5";
  }

  private choose(tag: string): void {
    this.current = tag;
    this.drawPalette();
  }

  // -- gestures: what a drag or a click means for the regions ---------------------------------------------------

  private regionAt(target: EventTarget | null): Region | null {
    const found = (target as HTMLElement | null)?.closest?.("[data-testid=earmark-region]") as HTMLElement | null;
    if (!found) return null;
    return this.regions.find((r) => String(r.key) === found.dataset.key) ?? null;
  }

  private hover(event: PointerEvent): void {
    this.pointer = this.timeAtX(event.clientX);
    if (this.gestures.gesture) return;
    const region = this.regionAt(event.target);
    const bar = region && this.elements.get(region.key)?.getBoundingClientRect();
    let cursor = "crosshair";
    if (region && bar && this.editable(region, false)) {
      const offset = event.clientX - bar.left;
      cursor = offset <= Math.min(6, bar.width / 3) || offset >= bar.width - Math.min(6, bar.width / 3) ? "ew-resize" : "move";
    } else if (region) cursor = "pointer";
    this.box.style.cursor = cursor;
  }

  /** A drag on the waveform or an empty lane: a new region from `from` to `to`, over whatever is there. */
  private drawing(from: number, to: number, gesture: Gesture): Region {
    let region = gesture.region;
    if (!region) {
      region = newRegion(from, to, this.current ? [this.current] : []);
      this.regions.push(region);
    }
    Object.assign(region, { start: from, end: to });
    this.reposition(region);
    return region;
  }

  private moved(region: Region): void {
    this.drawRegion(region);
    this.paint();
  }

  private released(gesture: Gesture): void {
    const region = gesture.region as Region;
    if (gesture.kind === "draw") return this.made(region);
    this.select(region);
    const changed = { start: region.start, end: region.end };
    Object.assign(region, gesture.was); // change() applies it again, remembering what it was
    this.change(region, changed);
    this.reposition(region);
  }

  private abandoned(gesture: Gesture): void {
    if (gesture.kind === "draw") this.drop(gesture.region as Region);
    else this.moved(gesture.region as Region);
  }

  private clicked(region: Region | null, clientX: number): void {
    if (region) return this.select(region);
    this.select(null);
    this.playback.seek(this.timeAtX(clientX));
  }

  /** A region was drawn (by a drag, or marked with [ and ]): saved at once if it has a tag, else the tag box
   * takes the cursor (a fresh dataset has no tags yet) and the region is saved when it gets one. */
  private made(region: Region): void {
    this.reposition(region);
    this.select(region);
    if (region.tags.length) {
      this.store(region);
      return;
    }
    this.say("Type a tag for the new region and press Enter (Esc drops it).");
    this.find<HTMLInputElement>(".new-tag").focus();
  }

  /** Save a new region, and remember it so Ctrl+Z takes it out again. */
  private store(region: Region): void {
    void this.saver.create(region);
    this.history.record({ what: "new region", undo: () => this.delete(region), redo: () => this.recreate(region) });
  }

  // -- changes, saved in the background (src/saving.ts), each one a step of the history --------------------------

  /** Whether this person may change the region (suggestions: anyone who annotates, before accepting them). */
  private editable(region: Region, explain = true): boolean {
    if (region.mine || region.source === "suggestion") return true;
    if (explain) this.say("Only its author or an administrator can change this annotation.");
    return false;
  }

  /** A change catches the page up CATCH_UP_MS after the last one (no gesture, no typing, nothing being saved). */
  private saved(): void {
    window.clearTimeout(this.catchUp);
    this.catchUp = window.setTimeout(() => {
      if (this.gestures.gesture || !this.editor.hidden || this.saver.busy) return this.saved();
      this.rerun("changed");
    }, CATCH_UP_MS);
  }

  /** Show `changes` now and save them; Ctrl+Z puts back what was there. */
  private change(region: Region, changes: Changes): void {
    if (!this.editable(region)) return;
    const before: Changes = {};
    for (const name of Object.keys(changes) as (keyof Changes)[]) Object.assign(before, { [name]: region[name] });
    this.apply(region, changes, before);
    this.history.record({ what: "change", undo: () => this.apply(region, before, changes), redo: () => this.apply(region, changes, before) });
  }

  private apply(region: Region, changes: Changes, before: Changes): void {
    Object.assign(region, changes, { error: "" });
    this.drawRegion(region);
    this.paint();
    if (region.source === "suggestion") { // kept here until accepted (A) or rejected (R)
      region.draft = true;
      this.drawRegion(region);
      return;
    }
    if (!region.id && !region.busy) return; // an untagged drawing, not stored yet
    void this.saver.change(region, changes, before);
  }

  private drop(region: Region): void {
    this.regions = this.regions.filter((r) => r !== region);
    if (this.selected === region) this.selected = null;
    if (this.playback.loop === region) this.playback.loop = null;
    this.relayout();
  }

  /** Put back a region taken off the screen by a change the server refused, or by an undo. */
  private restore(region: Region): void {
    if (!this.regions.includes(region)) this.regions = [...this.regions, region].sort((a, b) => a.start - b.start || a.key - b.key);
    this.relayout();
  }

  private delete(region: Region): void {
    this.drop(region);
    void this.saver.remove(region);
  }

  private recreate(region: Region): void {
    Object.assign(region, { id: null, version: null, error: "" });
    this.restore(region);
    void this.saver.create(region);
  }

  private remove(region: Region): void {
    if (!this.editable(region)) return;
    this.delete(region);
    this.history.record({ what: "deletion", undo: () => this.recreate(region), redo: () => this.delete(region) });
  }

  private review(region: Region, verdict: "accept" | "reject"): void {
    if (region.source !== "suggestion" || !region.id) {
      this.say("A and R accept or reject a machine suggestion; this is a person's annotation.");
      return;
    }
    const [suggested, origin] = [region.suggested, region.origin];
    this.decide(region, verdict).then((taken) => {
      if (!taken || !suggested) return;
      this.history.record({ what: verdict === "accept" ? "acceptance" : "rejection",
        undo: () => void this.saver.unreview(region, suggested, origin, verdict === "accept"),
        redo: () => void this.decide(region, verdict) });
    });
  }

  /** Send a verdict on a suggestion; whether it was taken. */
  private decide(region: Region, verdict: "accept" | "reject"): Promise<boolean> {
    if (verdict === "reject") this.drop(region);
    return this.saver.review(region, verdict).then((taken) => {
      if (taken) this.relayout();
      else this.drawRegion(region);
      return taken;
    });
  }

  private labelSelected(tag: string, on = false): void {
    const region = this.selected;
    if (!region) return;
    if (on && region.tags.includes(tag)) return;
    if (!region.id && !region.busy && !region.tags.length) { // the first tag of a new drawing: now it is stored
      region.tags = [tag];
      this.say("");
      this.current ??= tag;
      this.drawPalette();
      this.drawRegion(region);
      this.store(region);
      return;
    }
    const tags = toggleTag(region.tags, tag);
    if (!tags.length && !region.text) return this.say("A region needs at least one tag or a text: add another before taking this one off.");
    this.change(region, { tags });
  }

  private undo(redo: boolean): void {
    const step = redo ? this.history.redo() : this.history.undo();
    this.say(step ? `${redo ? "Redone" : "Undone"}: ${step.what}.` : `Nothing to ${redo ? "redo" : "undo"}.`);
  }

  // -- the keyboard -------------------------------------------------------------------------------------------

  private key(event: KeyboardEvent): void {
    if (!this.data) return;
    const target = (event.composedPath()[0] ?? event.target) as HTMLElement;
    const where = { onBox: target === this.box, pointerOver: this.pointerOver, onlyOne: live.size === 1,
      targetTypes: typesItself(target.tagName ?? "", Boolean(target.isContentEditable)) };
    if (!takesKeys(where)) return;
    const command = commandOf(event);
    if (!command) return;
    const action = this.action(command);
    if (!action) return; // not for the waveform now: the page's own key (Esc, Delete with nothing selected, ...)
    event.preventDefault();
    event.stopPropagation(); // the page's own shortcuts do not also act
    action();
  }

  /** What a command does now, or null if it does nothing here (so the key goes on to the page). */
  private action(command: Command): (() => void) | null {
    const region = this.selected;
    const centre = (this.view.start + this.view.end) / 2;
    if (typeof command === "object") {
      const tag = this.tags()[command.tag];
      if (!tag) return null;
      return () => (region ? this.labelSelected(tag) : this.choose(tag));
    }
    const always: Partial<Record<Exclude<Command, object>, () => void>> = {
      "zoom-in": () => this.zoom(1 / 2, this.pointer ?? centre), "zoom-out": () => this.zoom(2, this.pointer ?? centre),
      left: () => this.setView(shiftView(this.view, -0.2, this.data.duration)),
      right: () => this.setView(shiftView(this.view, 0.2, this.data.duration)),
      play: () => this.playback.toggle(), loop: () => this.toggleLoop(),
      "mark-start": () => this.markStart(), "mark-end": () => this.markEnd(),
      undo: () => this.undo(false), redo: () => this.undo(true),
    };
    const onSelected: Partial<Record<Exclude<Command, object>, () => void>> = region ? {
      deselect: () => this.select(null), delete: () => this.remove(region), text: () => this.editText(region),
      accept: () => this.review(region, "accept"), reject: () => this.review(region, "reject"),
    } : {};
    return always[command] ?? onSelected[command] ?? null;
  }

  /** [ at the playhead: where the next region starts (as transcribers mark while listening). */
  private markStart(): void {
    this.mark = this.playback.now;
    this.paint();
    this.say(`Start marked at ${this.mark.toFixed(2)} s: ] at the end makes the region.`);
  }

  /** ] at the playhead: the region from the marked start to here (no mark: from the cursor where play began). */
  private markEnd(): void {
    const now = this.playback.now;
    const from = this.mark ?? this.playback.cursor;
    const [start, end] = [Math.min(from, now), Math.max(from, now)];
    if (end - start < 0.01) return this.say("Mark a start with [ first, then ] where the region ends.");
    this.mark = null;
    const region = newRegion(start, end, this.current ? [this.current] : []);
    this.regions.push(region);
    this.made(region);
  }

  private editText(region: Region): void {
    if (!this.editable(region)) return;
    this.editor.hidden = false;
    this.editor.value = region.text;
    this.editor.dataset.key = String(region.key);
    this.editor.focus();
    this.editor.select();
  }

  private editorKey(event: KeyboardEvent): void {
    event.stopPropagation();
    if (event.key !== "Enter" && event.key !== "Escape") return;
    event.preventDefault();
    const region = this.regions.find((r) => String(r.key) === this.editor.dataset.key);
    this.editor.hidden = true;
    this.box.focus();
    if (event.key === "Escape" || !region || this.editor.value === region.text) return;
    if (!this.editor.value.trim() && !region.tags.length) return this.say("A region needs at least one tag or a text.");
    this.change(region, { text: this.editor.value });
  }

  private select(region: Region | null): void {
    const was = this.selected;
    this.selected = region;
    if (was && was !== region && !was.id && !was.busy && !was.tags.length) this.drop(was); // an untagged drawing left
    if (was) this.drawRegion(was);
    if (region) this.drawRegion(region);
    this.drawRegions();
  }

  // -- playback -----------------------------------------------------------------------------------------------

  /** Loop the selected region (again: stop looping). */
  private toggleLoop(): void {
    const region = this.selected;
    const looping = !this.playback.loop && region ? region : null;
    if (!region && !this.playback.loop) this.say("Select a region to loop it.");
    this.playback.setLoop(looping);
    const button = this.find<HTMLButtonElement>(".loop");
    button.classList.toggle("on", Boolean(looping));
    button.setAttribute("aria-pressed", String(Boolean(looping)));
  }

  /** The playhead at `time`; while playing, the view follows it. */
  private follow(time: number, scroll = true): void {
    if (scroll && this.playback.playing && time > this.view.end) {
      this.setView(clampView(time, time + (this.view.end - this.view.start), this.data.duration));
    }
    this.playhead.dataset.time = time.toFixed(3);
    this.clock.textContent = `${time.toFixed(2)} s`;
    const where = fractionOf(this.view, time);
    const inside = where >= 0 && where <= 1;
    this.playhead.style.display = inside ? "block" : "none";
    if (inside) this.playhead.style.left = `${where * 100}%`;
  }

  // -- regions on screen: lanes under the waveform, elements for those wide enough, the rest painted ----------------

  /** Lanes anew (the page's data came, regions went), then everything drawn. */
  private relayout(): void {
    this.layout = layoutLanes(this.regions);
    this.fitLanes();
    this.drawRegions();
  }

  /** One region drawn, moved or resized: a lane for it alone (src/lanes.ts `place`), the rest left where they are. */
  private reposition(region: Region): void {
    const rows = this.layout.rows;
    place(this.layout, region, this.regions);
    if (this.layout.rows !== rows) {
      this.fitLanes();
      this.drawRegions();
    } else this.drawRegion(region, true);
    this.paint();
  }

  private fitLanes(): void {
    this.box.style.height = `${WAVE_HEIGHT + this.layout.rows * LANE_HEIGHT}px`;
    this.box.dataset.lanes = String(this.layout.rows);
  }

  private drawRegions(): void {
    if (!this.data) return;
    const keep = new Set<Region>([this.selected, this.gestures.gesture?.region].filter(Boolean) as Region[]);
    const { elements } = splitRegions(this.regions, this.view, this.box.clientWidth || 800, keep);
    const shown = new Set(elements.map((r) => r.key));
    for (const [key, made] of this.elements) {
      if (!shown.has(key)) {
        made.remove();
        this.elements.delete(key);
      }
    }
    for (const region of elements) this.drawRegion(region, true);
    this.paint();
  }

  /** The canvases: people's regions (and the selected one) tinted over the waveform; the lanes, with the regions
   * that have no element of their own painted in theirs. */
  private paint(): void {
    if (!this.data) return;
    const width = this.box.clientWidth || 800;
    const inView = this.regions.filter((r) => r.end > this.view.start && r.start < this.view.end);
    const painted = inView.filter((r) => !this.elements.has(r.key));
    const span = (r: Region): Span => ({ start: r.start, end: r.end, color: this.color(r.tags[0]), row: this.layout.lane.get(r.key) ?? 0,
      dashed: r.source === "suggestion" });
    const tint = prepare(this.shade, width, WAVE_HEIGHT);
    paintSpans(tint, inView.filter((r) => r.source !== "suggestion").map(span),
      this.view, width, WAVE_HEIGHT, 0, 0.14);
    if (this.selected) paintSpans(tint, [span(this.selected)], this.view, width, WAVE_HEIGHT, 0, 0.22);
    if (this.mark !== null) paintSpans(tint, [{ start: this.mark, end: this.mark, color: "#d33", row: 0, dashed: false }], this.view, width, WAVE_HEIGHT, 0, 0.9);
    const lanes = prepare(this.lanes, width, this.layout.rows * LANE_HEIGHT);
    lanes.fillStyle = "rgba(120, 120, 140, 0.10)"; // suggestions' lanes, apart from people's
    lanes.fillRect(0, this.layout.humanRows * LANE_HEIGHT, width, (this.layout.rows - this.layout.humanRows) * LANE_HEIGHT);
    lanes.fillStyle = "rgba(0, 0, 0, 0.12)";
    for (let row = 1; row < this.layout.rows; row++) lanes.fillRect(0, row * LANE_HEIGHT, width, 1);
    paintSpans(lanes, painted.map(span), this.view, width, this.layout.rows * LANE_HEIGHT, LANE_HEIGHT, 0.8);
  }

  /** Update the region's element (`create`: make one if it has none; the selected and the dragged always get one). */
  private drawRegion(region: Region, create = false): void {
    const keep = create || region === this.selected || region === this.gestures.gesture?.region;
    let made = this.elements.get(region.key);
    const visible = this.regions.includes(region) && region.end > this.view.start && region.start < this.view.end;
    if (!visible) {
      made?.remove();
      this.elements.delete(region.key);
      return;
    }
    if (!made && !keep) return; // painted on the lanes' canvas
    if (!made) {
      made = element("div", { "data-testid": "earmark-region" });
      made.append(element("span"));
      this.elements.set(region.key, made);
      this.layer.append(made);
    }
    const suggestion = region.source === "suggestion";
    Object.assign(made.dataset, {
      key: String(region.key), id: region.id ?? "", start: String(region.start), end: String(region.end),
      tags: region.tags.join(";"), source: region.source, text: region.text, lane: String(this.layout.lane.get(region.key) ?? 0),
      saved: region.id && !region.busy && !region.draft ? "true" : "false", error: region.error,
    });
    made.className = ["region", region.source, region === this.selected ? "selected" : "", region.error ? "refused" : "",
      region.mine || suggestion ? "" : "others"].filter(Boolean).join(" ");
    made.title = region.error || (suggestion ? `Suggested by ${region.bot}: A accepts, R rejects` : region.text);
    made.style.setProperty("--tag-color", this.color(region.tags[0]));
    const left = Math.max(0, fractionOf(this.view, region.start));
    const right = Math.min(1, fractionOf(this.view, region.end));
    made.style.left = `${left * 100}%`;
    made.style.width = `${(right - left) * 100}%`;
    made.style.top = `${WAVE_HEIGHT + (this.layout.lane.get(region.key) ?? 0) * LANE_HEIGHT}px`;
    const label = (suggestion ? `? ${region.bot}: ` : "") + (region.tags.join(", ") || "(no tag yet)") + (region.text ? ` “${region.text}”` : "");
    (made.firstChild as HTMLElement).textContent = region.error ? `⚠ ${label}` : label;
  }

  private say(message: string): void {
    this.status.textContent = message;
  }
}
