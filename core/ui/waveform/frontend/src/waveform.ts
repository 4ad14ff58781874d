// The component: one view of the sound drawn from the server's peaks windows, its regions in lanes under it, played
// and edited directly. This module holds the view and wires the parts together: drawing (src/drawing.ts), regions on
// screen (src/layer.ts), editing them (src/editor.ts, saving in src/saving.ts), pointer gestures (src/gestures.ts),
// keys (src/keys.ts), the palette (src/palette.ts), the overview and ruler (src/overview.ts), playback
// (src/playback.ts) and the spectrogram (src/spectrogram.ts).

import { ActiveClock, leave } from "./activity";
import { Api } from "./api";
import { plot, type Line } from "./drawing";
import { Editor } from "./editor";
import { Gestures, type Gesture } from "./gestures";
import { commandOf, takesKeys, typesItself, type Command } from "./keys";
import { RegionLayer, WAVE_HEIGHT } from "./layer";
import { drawRuler, Overview } from "./overview";
import { element, Palette } from "./palette";
import { Playback, RATES } from "./playback";
import { gripAt, newRegion, type Region, type ServerRegion } from "./regions";
import { takeRequest, type Person } from "./review";
import { Saver } from "./saving";
import { Spectrogram } from "./spectrogram";
import { clampView, fractionOf, shiftView, timeAt, toMillisecond, wheelFactor, zoomView, type View } from "./timeline";

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
  review?: Person[] | null; // review mode: each of these people's regions in a labelled lane, and a gold lane
  assigned?: boolean; // the sound is in this person's work: D submits it, and active time is reported
}

/** Ask the page for a run, saying why: "renew" (it brings a fresh page token), "changed" (annotations were
 * saved here: the page's table and counts catch up), "done" (D: submit the sound), "active" ({seconds}: active
 * time to add), "take" ({ids}: copy these annotations into gold); Streamlit's setTriggerValue. */
export type Rerun = (why: "renew" | "changed" | "done" | "active" | "take", value?: Record<string, unknown>) => void;

/** How long after the last change saved here the page is asked to catch up (one run for a burst of edits). */
const CATCH_UP_MS = 2000;

/** The waveforms on the page: with only one, it takes the keys wherever the pointer is. */
const live = new Set<Waveform>();

type Action = () => void;

export class Waveform {
  private readonly find: <T extends Element>(selector: string) => T;
  private readonly box: HTMLElement;
  private readonly wave: HTMLCanvasElement; // the peaks line
  private readonly playhead: HTMLElement;
  private readonly status: HTMLElement;
  private readonly textBox: HTMLInputElement;
  private readonly clockText: HTMLElement;
  private readonly ruler: HTMLElement;
  private readonly cleanups: (() => void)[] = [];
  private readonly api = new Api("", "");
  private readonly saver: Saver;
  private readonly editor: Editor;
  private readonly layer: RegionLayer;
  private readonly palette: Palette;
  private readonly overview: Overview;
  private readonly gestures: Gestures;
  private readonly playback: Playback;
  private readonly spectrogram: Spectrogram;
  private data!: Data;
  private view: View = { start: 0, end: 0 };
  private pending: AbortController | null = null;
  private pointerOver = false;
  private pointer: number | null = null; // the time under the pointer, while it is over the waveform
  private mark: number | null = null; // a start marked with [ at the playhead, waiting for ]
  private tokenAt = 0; // when the page's current token arrived
  private renewing = false;
  private catchUp = 0; // the timer that asks the page to catch up with changes saved here
  private firstView = false;
  private readonly chosen = new Set<number>(); // review: regions chosen to take into gold
  private readonly actions: HTMLElement; // review: the "take into gold" buttons
  private readonly clock = new ActiveClock(Date.now());

  constructor(private readonly root: HTMLElement | ShadowRoot, private readonly rerun: Rerun) {
    this.find = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    this.box = this.find("[data-testid=earmark-waveform]");
    this.wave = this.find("canvas.wave");
    this.playhead = this.find("[data-testid=earmark-playhead]");
    this.status = this.find(".status");
    this.textBox = this.find(".text-editor");
    this.clockText = this.find(".clock");
    this.ruler = this.find(".ruler");
    this.saver = new Saver(this.api, {
      redraw: (r) => this.layer.draw(r), drop: (r) => this.editor.drop(r), restore: (r) => this.editor.restore(r),
      say: (m) => this.say(m), saved: () => this.saved(),
    }, () => ({ id: this.data.sound_id, channel: this.data.channel ?? null }));
    this.layer = new RegionLayer(this.box, this.find(".regions"), this.find("canvas.shade"), this.find("canvas.lanes"), {
      regions: () => this.editor.regions, selected: () => this.editor.selected, dragged: () => this.gestures?.gesture?.region ?? null,
      view: () => this.view, color: (tag) => this.color(tag), mark: () => this.mark,
      review: () => this.data?.review ?? null, chosen: () => this.chosen,
    });
    this.actions = element("div", { class: "review-actions", "data-testid": "earmark-review-actions", hidden: "" });
    this.find(".palette").before(this.actions);
    this.editor = new Editor(this.saver, {
      relayout: () => this.layer.relayout(), reposition: (r) => this.layer.reposition(r),
      redraw: (r) => { this.layer.draw(r); this.layer.paint(); }, askTag: () => this.palette.focus(),
      dropped: (r) => { if (this.playback.loop === r) this.playback.loop = null; }, say: (m) => this.say(m),
    });
    this.palette = new Palette(this.find(".palette"), {
      color: (tag) => this.color(tag), say: (m) => this.say(m),
      clicked: (tag) => { if (!this.editor.label(tag)) this.choose(tag); },
      typed: (tag) => this.typedTag(tag),
      escaped: () => { this.editor.dropUntagged(); this.box.focus(); },
    });
    this.playback = new Playback(this.find("audio"), this.find(".play"), { at: (t) => this.follow(t), say: (m) => this.say(m) });
    this.spectrogram = new Spectrogram(this.find(".spectrogram"), this.find(".spectrogram-note"), this.api, (m) => this.say(m));
    this.overview = new Overview(this.find("[data-testid=earmark-overview]"), this.api, (at) => this.centreOn(at),
      (target, type, handler) => this.on(target, type, handler));
    this.gestures = new Gestures(this.box, {
      regionAt: (t) => this.layer.regionAt(t), edgeBox: (r) => this.layer.bar(r),
      timeAt: (x) => this.timeAtX(x), secondsPerPixel: () => this.secondsPerPixel(), duration: () => this.data.duration,
      mayChange: (r) => this.editor.editable(r), draw: (a, b, g) => this.drawing(a, b, g),
      shown: (r) => { this.layer.draw(r); this.layer.paint(); }, done: (g) => this.released(g),
      click: (r, x) => this.clicked(r, x), abandoned: (g) => this.abandoned(g),
      pinch: (f, x) => this.zoom(f, this.timeAtX(x)), focus: () => this.box.focus({ preventScroll: true }),
    });
    this.buildToolbar();
    this.listen();
    live.add(this);
  }

  /** Listen to `target` until the component is unmounted. */
  private on<E extends Event>(target: EventTarget, type: string, handler: (e: E) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, handler as EventListener, options);
    this.cleanups.push(() => target.removeEventListener(type, handler as EventListener, options));
  }

  /** Everything registered outside the component's own elements, so that unmounting leaves nothing running. */
  private listen(): void {
    this.on<KeyboardEvent>(window, "keydown", (e) => this.key(e), { capture: true });
    this.on<PointerEvent>(this.box, "pointerenter", () => { this.pointerOver = true; });
    this.on<PointerEvent>(this.box, "pointerleave", () => { this.pointerOver = false; this.pointer = null; });
    this.on<PointerEvent>(this.box, "pointermove", (e) => this.hover(e));
    this.on<WheelEvent>(this.box, "wheel", (e) => this.wheel(e), { passive: false });
    this.on<KeyboardEvent>(this.textBox, "keydown", (e) => this.textKey(e));
    const resize = new ResizeObserver(() => this.resized());
    resize.observe(this.box);
    this.cleanups.push(() => resize.disconnect());
    const timer = window.setInterval(() => this.renewToken(), 30_000);
    this.cleanups.push(() => window.clearInterval(timer));
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel"]) {
      this.on(this.root, type, () => this.clock.touch(Date.now()), { passive: true });
    }
    const ticks = window.setInterval(() => this.tick(), 1000);
    this.cleanups.push(() => window.clearInterval(ticks));
    // The last active seconds when the person leaves without Done: tab hidden (switched away, minimised, the phone
    // locked) or the page closed or navigated away (pagehide, which also fires where unload does not).
    this.on(document, "visibilitychange", () => { if (document.visibilityState === "hidden") this.leaveSound(); });
    this.on(window, "pagehide", () => this.leaveSound());
  }

  /** The page's width changed: the views again at the new width. The observer also reports the first size, which
   * the views asked for on the first data already used: those are not asked for twice. */
  private resized(): void {
    const width = this.box.clientWidth;
    if (!this.data || width === this.width) return;
    this.width = width;
    drawRuler(this.ruler, this.view, width);
    this.load();
    this.loadOverview();
    this.layer.drawAll();
  }

  private width = 0; // the waveform's width the views were last asked for

  /** Streamlit unmounts the component: stop listening, fetching and playing. */
  dispose(): void {
    this.leaveSound();
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

  /** Count the last second if it was active; on an assigned sound, hand the page what has added up. */
  private tick(): void {
    const now = Date.now();
    this.clock.tick(now, this.playback.playing, document.visibilityState === "visible");
    if (!this.data?.assigned) return;
    const seconds = this.clock.take(now);
    if (seconds) this.rerun("active", { seconds, sound_id: this.data.sound_id, at: now });
  }

  /** The page leaves the sound shown (see src/activity.ts `leave`): its last active seconds go to the API now. */
  private leaveSound(): void {
    if (!this.data) return;
    leave(this.clock, Date.now(), this.playback.playing, this.data.sound_id, !!this.data.assigned,
      (id, seconds) => this.api.postAndForget(`/my-work/${encodeURIComponent(id)}/time`, { seconds }));
  }

  /** D on an assigned sound: once every change is saved, the page submits it (with the active time left). */
  private done(): void {
    if (!this.data.assigned) return this.say("This sound is not in your work: there is nothing to submit.");
    if (this.saver.busy) {
      this.say("Saving your changes first…");
      window.setTimeout(() => this.done(), 200);
      return;
    }
    const seconds = this.clock.take(Date.now(), true);
    this.rerun("done", { seconds, sound_id: this.data.sound_id, at: Date.now() });
  }

  /** Review: the buttons that take one person's regions, or the chosen ones, into gold. */
  private drawActions(): void {
    const people = this.data.review;
    this.actions.hidden = !people;
    if (!people) return this.actions.replaceChildren();
    const buttons = people.map((person) => {
      const button = element("button", { type: "button", class: "take-person", "data-author": person.id },
        `Take ${person.name}'s regions into gold`);
      button.addEventListener("click", () => this.take(this.editor.regions.filter((r) => !r.gold && r.author === person.id)));
      return button;
    });
    const chosen = element("button", { type: "button", class: "take-chosen" }, `Take the chosen regions into gold (${this.chosen.size})`);
    chosen.addEventListener("click", () => this.takeChosen());
    const hint = element("span", { class: "review-hint" },
      "click people's regions to choose them, G takes them · the gold lane is edited as usual · red: no match in another lane");
    this.actions.replaceChildren(...buttons, chosen, hint);
  }

  private takeChosen(): void {
    const regions = this.editor.regions.filter((r) => this.chosen.has(r.key));
    if (!regions.length) return this.say("Choose regions first: click them in the people's lanes.");
    this.take(regions);
  }

  private take(regions: Region[]): void {
    const request = takeRequest(regions);
    if (!request.ids.length) return this.say("There is nothing to take: those lanes have no stored regions.");
    this.chosen.clear();
    this.drawActions();
    this.layer.drawAll();
    this.rerun("take", { ...request, at: Date.now() });
  }

  // -- the page's data ------------------------------------------------------------------------------------

  update(data: Data): void {
    const fresh = !this.data || this.data.sound_id !== data.sound_id;
    const otherChannel = !fresh && this.data.channel !== data.channel;
    if (fresh) this.leaveSound(); // the seconds on the sound before belong to it, not to this one
    this.data = data;
    this.api.base = data.api;
    if (data.token !== this.api.token) {
      this.api.token = data.token;
      this.tokenAt = Date.now();
      this.renewing = false;
    }
    if (fresh) {
      this.editor.reset();
      this.palette.forget();
      this.mark = null;
    }
    this.editor.merge(data.regions || []);
    const keys = new Set(this.editor.regions.map((r) => r.key));
    for (const key of [...this.chosen]) if (fresh || !keys.has(key)) this.chosen.delete(key);
    this.palette.draw(data.tags || []);
    this.drawActions();
    if (fresh) {
      performance.mark("earmark:sound"); // bench/waveform.py reads "earmark:first-view": mounted -> drawn
      this.firstView = true;
      this.view = { start: 0, end: data.duration };
      this.playback.load(data.audio_url);
      this.width = this.box.clientWidth;
      drawRuler(this.ruler, this.view, this.width);
      this.load();
      this.loadOverview();
    }
    if (otherChannel) this.load();
    this.layer.relayout();
    this.follow(this.playback.now);
  }

  private color(tag: string | undefined): string {
    return (tag && this.data.colors?.[tag]) || "#4a6fa5";
  }

  private tags(): string[] {
    return this.palette.tags(this.data.tags || []);
  }

  private choose(tag: string): void {
    this.palette.current = tag;
    this.palette.draw(this.data.tags || []);
  }

  /** A tag typed in the palette's box: added to the selected region, else the tag new regions get; a new one is
   * added to the dataset's vocabulary too, so it keeps its place, key and colour once no region has it. */
  private typedTag(tag: string): void {
    if (!this.editor.label(tag, true)) this.palette.current = tag;
    this.palette.current ??= tag;
    this.palette.draw(this.data.tags || []);
    this.box.focus();
    if (!(this.data.tags || []).includes(tag)) void this.keepTag(tag);
  }

  private async keepTag(tag: string): Promise<void> {
    try {
      const kept = await this.api.call<{ tag: string; color: string }>("POST", `/sounds/${this.data.sound_id}/tags`, { tag });
      this.data.colors = { ...this.data.colors, [kept.tag]: kept.color };
      this.palette.draw(this.data.tags || []);
    } catch (error) {
      this.say(`The tag ${tag} was not added to the dataset's tags: ${(error as Error).message}`);
    }
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
    drawRuler(this.ruler, view, this.box.clientWidth);
    this.overview.place(view, this.data.duration);
    this.layer.drawAll(); // regions and playhead follow at once; the waveform when its window arrives
    this.follow(this.playback.now, false);
    this.load();
  }

  private zoom(factor: number, around: number): void {
    this.setView(zoomView(this.view, factor, around, this.data.duration));
  }

  /** The view, its length kept, centred on `time` (a press on the overview). */
  private centreOn(time: number): void {
    const half = (this.view.end - this.view.start) / 2;
    this.setView(clampView(time - half, time + half, this.data.duration));
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
      const line = await this.api.call<Line>("GET", `/sounds/${this.data.sound_id}/peaks?${this.peaksQuery(start, end, 2 * width)}`,
        undefined, controller.signal);
      if (controller !== this.pending) return;
      const arrived = performance.now();
      this.draw(line, { start, end });
      performance.measure("earmark:view-drawn", { start: arrived }); // the component's own part: peaks parsed -> drawn
      void this.spectrogram.show(this.data.sound_id, { start, end }, this.data.channel ?? null, this.data.spectrogram_max_seconds);
    } catch (error) {
      if ((error as Error).name !== "AbortError") this.say(`The waveform could not be loaded: ${(error as Error).message}`);
    }
  }

  /** The view's peaks on the waveform's own canvas; `data-ready` says the view is on the screen. */
  private draw(line: Line, view: View): void {
    plot(this.wave, this.box.clientWidth, WAVE_HEIGHT, line, view);
    this.box.dataset.viewStart = view.start.toFixed(4);
    this.box.dataset.viewEnd = view.end.toFixed(4);
    this.box.dataset.ready = "true";
    if (this.firstView) {
      this.firstView = false;
      performance.measure("earmark:first-view", "earmark:sound");
    }
  }

  private async loadOverview(): Promise<void> {
    if (!this.data) return;
    try {
      await this.overview.load(this.data.sound_id, this.data.duration, (a, b, n) => this.peaksQuery(a, b, n));
      this.overview.place(this.view, this.data.duration);
    } catch (error) {
      this.say(`The overview could not be loaded: ${(error as Error).message}`);
    }
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

  // -- gestures: what a drag or a click means ----------------------------------------------------------------

  private hover(event: PointerEvent): void {
    this.pointer = this.timeAtX(event.clientX);
    if (this.gestures.gesture) return;
    const region = this.layer.regionAt(event.target);
    const bar = region && this.layer.bar(region);
    let cursor = "crosshair";
    if (region && bar && this.editor.editable(region, false)) {
      cursor = gripAt(event.clientX - bar.left, bar.width) === "body" ? "move" : "ew-resize"; // as a press would take it
    } else if (region) cursor = "pointer";
    this.box.style.cursor = cursor;
  }

  /** A drag on the waveform or an empty lane: a new region from `from` to `to`, over whatever is there. */
  private drawing(from: number, to: number, gesture: Gesture): Region {
    let region = gesture.region;
    if (!region) {
      region = newRegion(from, to, this.palette.current ? [this.palette.current] : [], Boolean(this.data.review));
      this.editor.regions.push(region);
    }
    Object.assign(region, { start: from, end: to });
    this.layer.reposition(region);
    return region;
  }

  private released(gesture: Gesture): void {
    const region = gesture.region as Region;
    if (gesture.kind === "draw") this.editor.made(region);
    else this.editor.moved(region, gesture.was);
  }

  private abandoned(gesture: Gesture): void {
    if (gesture.kind === "draw") this.editor.drop(gesture.region as Region);
    else this.layer.reposition(gesture.region as Region);
  }

  private clicked(region: Region | null, clientX: number): void {
    if (this.data.review && region && !region.gold && region.source !== "suggestion") { // review: choose it for gold
      if (this.chosen.has(region.key)) this.chosen.delete(region.key);
      else this.chosen.add(region.key);
      this.drawActions();
    }
    this.editor.select(region);
    this.layer.drawAll();
    if (!region) this.playback.seek(this.timeAtX(clientX));
  }

  // -- changes saved: the page catches up ---------------------------------------------------------------------

  /** A change catches the page up CATCH_UP_MS after the last one (no gesture, no typing, nothing being saved). */
  private saved(): void {
    window.clearTimeout(this.catchUp);
    this.catchUp = window.setTimeout(() => {
      if (this.gestures.gesture || !this.textBox.hidden || this.saver.busy) return this.saved();
      this.rerun("changed");
    }, CATCH_UP_MS);
  }

  // -- the keyboard -------------------------------------------------------------------------------------------

  private key(event: KeyboardEvent): void {
    if (!this.data) return;
    const target = (event.composedPath()[0] ?? event.target) as HTMLElement;
    const ownButton = target.tagName === "BUTTON" && this.root.contains(target); // the toolbar's, the palette's
    const where = { onBox: target === this.box || ownButton, pointerOver: this.pointerOver, onlyOne: live.size === 1,
      targetTypes: typesItself(target.tagName ?? "", Boolean(target.isContentEditable)) };
    if (!takesKeys(where)) return;
    const command = commandOf(event);
    const action = command && this.action(command);
    if (!action) return; // not for the waveform now: the page's own key (Esc, Delete with nothing selected, ...)
    event.preventDefault();
    event.stopPropagation(); // the page's own shortcuts do not also act
    action();
  }

  /** What a command does now, or null if it does nothing here (so the key goes on to the page). */
  private action(command: Command): Action | null {
    const region = this.editor.selected;
    if (typeof command === "object") {
      const tag = this.tags()[command.tag];
      return tag ? () => { if (!this.editor.label(tag)) this.choose(tag); } : null;
    }
    const centre = this.pointer ?? (this.view.start + this.view.end) / 2;
    const always: Partial<Record<Exclude<Command, object>, Action>> = {
      "zoom-in": () => this.zoom(1 / 2, centre), "zoom-out": () => this.zoom(2, centre),
      left: () => this.setView(shiftView(this.view, -0.2, this.data.duration)),
      right: () => this.setView(shiftView(this.view, 0.2, this.data.duration)),
      play: () => this.playback.toggle(), loop: () => this.toggleLoop(),
      "mark-start": () => this.markStart(), "mark-end": () => this.markEnd(),
      undo: () => this.editor.undo(false), redo: () => this.editor.undo(true),
      ...(this.data.assigned ? { done: () => this.done() } : {}),
      ...(this.data.review ? { take: () => this.takeChosen() } : {}),
    };
    const onSelected: Partial<Record<Exclude<Command, object>, Action>> = region ? {
      deselect: () => { this.editor.select(null); this.layer.drawAll(); }, delete: () => this.editor.remove(region),
      text: () => this.editText(region), accept: () => this.editor.review(region, "accept"),
      reject: () => this.editor.review(region, "reject"),
    } : {};
    return always[command] ?? onSelected[command] ?? null;
  }

  /** [ at the playhead: where the next region starts (as transcribers mark while listening). */
  private markStart(): void {
    this.mark = this.playback.now;
    this.layer.paint();
    this.say(`Start marked at ${this.mark.toFixed(2)} s: ] at the end makes the region.`);
  }

  /** ] at the playhead: the region from the marked start to here (no mark: from the cursor where play began). */
  private markEnd(): void {
    const now = this.playback.now;
    const from = this.mark ?? this.playback.cursor;
    const [start, end] = [Math.min(from, now), Math.max(from, now)].map(toMillisecond);
    if (end - start < 0.01) return this.say("Mark a start with [ first, then ] where the region ends.");
    this.mark = null;
    this.editor.made(newRegion(start, end, this.palette.current ? [this.palette.current] : [], Boolean(this.data.review)));
  }

  private editText(region: Region): void {
    if (!this.editor.editable(region)) return;
    this.textBox.hidden = false;
    this.textBox.value = region.text;
    this.textBox.dataset.key = String(region.key);
    this.textBox.focus();
    this.textBox.select();
  }

  private textKey(event: KeyboardEvent): void {
    event.stopPropagation();
    if (event.key !== "Enter" && event.key !== "Escape") return;
    event.preventDefault();
    const region = this.editor.regions.find((r) => String(r.key) === this.textBox.dataset.key);
    this.textBox.hidden = true;
    this.box.focus();
    if (event.key === "Escape" || !region || this.textBox.value === region.text) return;
    if (!this.textBox.value.trim() && !region.tags.length) return this.say("A region needs at least one tag or a text.");
    this.editor.change(region, { text: this.textBox.value });
  }

  // -- playback -----------------------------------------------------------------------------------------------

  /** Loop the selected region (again: stop looping). */
  private toggleLoop(): void {
    const region = this.editor.selected;
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
    this.clockText.textContent = `${time.toFixed(2)} s`;
    const where = fractionOf(this.view, time);
    const inside = where >= 0 && where <= 1;
    this.playhead.style.display = inside ? "block" : "none";
    if (inside) this.playhead.style.left = `${where * 100}%`;
  }

  private say(message: string): void {
    this.status.textContent = message;
  }
}
