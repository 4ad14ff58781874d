// The component itself: draws a view of the sound from the server's peaks windows, plays it, and lets people
// draw, move, resize, label, transcribe, delete and review regions directly. Every change shows at once and is
// saved in the background through the HTTP API (one change at a time per region, each with the version it
// read); a refused change (409, 403, ...) is shown on the region and undone.

import { Api, ApiError, type Stored } from "./api";
import {
  cleanTag, dragged, gripAt, mergeRegions, newRegion, toggleTag,
  type Grip, type Region, type ServerRegion,
} from "./regions";
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

interface Line {
  x: number[];
  y: number[];
}

interface Gesture {
  kind: "draw" | Grip;
  x: number; // where the press was (client pixels)
  from: number; // the time there
  region: Region | null; // the region pressed (or being drawn)
  was: { start: number; end: number };
  moved: boolean;
}

const DRAG_PIXELS = 4; // a press that moves less than this is a click
const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

/** A refusal saying the annotation is no longer there to change (deleted, or a suggestion already reviewed). */
function gone(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 409);
}

function stop(event: Event): void {
  event.preventDefault();
  event.stopPropagation(); // the page's own shortcuts (I, O, arrows, Delete) act on the figure below, not here
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.textContent = text; // text, never HTML: tags and transcriptions are people's input
  return made;
}

/** Draw `line` (times and values -1..1) over `view` on `canvas`, sized to `box` at the screen's pixel ratio. */
function plot(canvas: HTMLCanvasElement, box: HTMLElement, line: Line, view: View): void {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(box.clientWidth * ratio);
  canvas.height = Math.round(box.clientHeight * ratio);
  const context = canvas.getContext("2d") as CanvasRenderingContext2D;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#4a6fa5";
  context.lineWidth = ratio;
  context.beginPath();
  for (let i = 0; i < line.x.length; i++) {
    const x = fractionOf(view, line.x[i]) * canvas.width;
    const y = (0.5 - line.y[i] / 2) * canvas.height;
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  }
  context.stroke();
}

export class Waveform {
  private readonly box: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly layer: HTMLElement;
  private readonly playhead: HTMLElement;
  private readonly audio: HTMLAudioElement;
  private readonly status: HTMLElement;
  private readonly palette: HTMLElement;
  private readonly editor: HTMLInputElement;
  private readonly playButton: HTMLButtonElement;
  private readonly loopButton: HTMLButtonElement;
  private readonly clock: HTMLElement;
  private readonly ruler: HTMLElement;
  private readonly overview: HTMLElement; // the whole sound, small, with the view's window on it
  private overviewLine: Line | null = null;
  private steering = false; // a press on the overview is moving the view
  private readonly spectrogramButton: HTMLButtonElement;
  private readonly picture: HTMLImageElement;
  private readonly pictureNote: HTMLElement;
  private spectrogramOn = false;
  private pictureRequest: AbortController | null = null;
  private data!: Data;
  private api = new Api("", "");
  private regions: Region[] = [];
  private readonly elements = new Map<number, HTMLElement>();
  private readonly deleted = new Set<string>();
  private readonly chains = new Map<number, Promise<void>>();
  private extraTags: string[] = [];
  private selected: Region | null = null;
  private current: string | null = null; // the tag new regions get
  private gesture: Gesture | null = null;
  private clickEndsGesture = false;
  private view: View = { start: 0, end: 0 };
  private line: Line | null = null;
  private pending: AbortController | null = null;
  private cursor = 0;
  private pointer: number | null = null; // the time under the mouse, while it is over the waveform
  private loop: Region | null = null;
  private tokenAt = 0; // when the page's current token arrived
  private renewing = false;
  private catchUp = 0; // the timer that asks the page to catch up with changes saved here
  private firstView = false;

  constructor(private readonly root: HTMLElement, private readonly rerun: Rerun) {
    const find = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    this.box = find("[data-testid=earmark-waveform]");
    this.canvas = find("canvas");
    this.layer = find(".regions");
    this.playhead = find("[data-testid=earmark-playhead]");
    this.audio = find("audio");
    this.status = find(".status");
    this.palette = find(".palette");
    this.editor = find(".text-editor");
    this.playButton = find(".play");
    this.loopButton = find(".loop");
    this.clock = find(".clock");
    this.ruler = find(".ruler");
    this.overview = find("[data-testid=earmark-overview]");
    this.overview.addEventListener("mousedown", (e) => { this.steering = true; this.steer(e); e.preventDefault(); });
    window.addEventListener("mousemove", (e) => { if (this.steering) this.steer(e); });
    window.addEventListener("mouseup", () => { this.steering = false; });
    this.spectrogramButton = find(".spectrogram-toggle");
    this.picture = find(".spectrogram");
    this.pictureNote = find(".spectrogram-note");
    this.buildToolbar();
    this.box.addEventListener("mousedown", (e) => this.press(e));
    window.addEventListener("mousemove", (e) => this.drag(e));
    window.addEventListener("mouseup", () => this.release());
    this.box.addEventListener("mousemove", (e) => this.hover(e));
    this.box.addEventListener("mouseleave", () => { this.pointer = null; });
    this.box.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    this.box.addEventListener("keydown", (e) => this.key(e));
    this.box.addEventListener("click", (e) => this.click(e));
    this.editor.addEventListener("keydown", (e) => this.editorKey(e));
    this.audio.addEventListener("play", () => { this.playButton.textContent = "⏸ Pause"; this.follow(); });
    this.audio.addEventListener("pause", () => { this.playButton.textContent = "▶ Play"; });
    new ResizeObserver(() => { this.drawRuler(); this.load(); this.loadOverview(); }).observe(this.box);
    window.setInterval(() => this.renewToken(), 30_000);
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
      this.deleted.clear();
      this.selected = this.loop = null;
      this.extraTags = [];
    }
    this.regions = mergeRegions(this.regions, data.regions || [], this.deleted);
    if (this.selected && !this.regions.includes(this.selected)) this.selected = null;
    if (!this.current || !this.tags().includes(this.current)) this.current = this.tags()[0] ?? null;
    this.drawPalette();
    if (fresh) {
      performance.mark("earmark:sound"); // bench/waveform.py reads "earmark:first-view": mounted -> drawn
      this.firstView = true;
      this.view = { start: 0, end: data.duration };
      this.cursor = 0;
      this.audio.src = data.audio_url;
      this.drawRuler();
      this.load();
      this.loadOverview();
    }
    if (otherChannel) this.load();
    this.drawRegions();
    this.movePlayhead(this.audio.paused ? this.cursor : this.audio.currentTime);
  }

  private tags(): string[] {
    return [...(this.data.tags || []), ...this.extraTags.filter((t) => !(this.data.tags || []).includes(t))];
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
    this.movePlayhead(this.audio.paused ? this.cursor : this.audio.currentTime);
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

  /** Ask the server for exactly the window shown (two points per pixel); a newer view cancels an older request. */
  private async load(): Promise<void> {
    if (!this.data) return;
    const { start, end } = this.view;
    this.box.dataset.ready = "false";
    this.pending?.abort();
    const controller = (this.pending = new AbortController());
    const width = Math.max(10, Math.min(2500, Math.round(this.box.clientWidth || 800)));
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4), points: String(2 * width) });
    if (this.data.channel !== null && this.data.channel !== undefined) query.set("channel", String(this.data.channel));
    try {
      this.line = await this.api.call<Line>("GET", `/sounds/${this.data.sound_id}/peaks?${query}`, undefined, controller.signal);
      if (controller !== this.pending) return;
      this.draw({ start, end });
      this.loadPicture();
    } catch (error) {
      if ((error as Error).name !== "AbortError") this.say(`The waveform could not be loaded: ${(error as Error).message}`);
    }
  }

  /** The spectrogram of the view drawn, when it is switched on (a PNG fetched with the page token). */
  private async loadPicture(): Promise<void> {
    this.pictureRequest?.abort();
    const shown = this.spectrogramOn && this.data;
    this.picture.hidden = this.pictureNote.hidden = true;
    if (!shown) return;
    const { start, end } = this.view;
    if (end - start > this.data.spectrogram_max_seconds) {
      this.pictureNote.textContent = `Zoom in to ${this.data.spectrogram_max_seconds} s or less to see the spectrogram.`;
      this.pictureNote.hidden = false;
      return;
    }
    const controller = (this.pictureRequest = new AbortController());
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4) });
    if (this.data.channel !== null && this.data.channel !== undefined) query.set("channel", String(this.data.channel));
    try {
      const image = await this.api.blob(`/sounds/${this.data.sound_id}/spectrogram?${query}`, controller.signal);
      if (controller !== this.pictureRequest) return;
      const old = this.picture.src;
      this.picture.src = URL.createObjectURL(image);
      this.picture.dataset.viewStart = start.toFixed(4);
      this.picture.dataset.viewEnd = end.toFixed(4);
      this.picture.hidden = false;
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    } catch (error) {
      if ((error as Error).name !== "AbortError") this.say(`The spectrogram could not be loaded: ${(error as Error).message}`);
    }
  }

  private draw(view: View): void {
    if (!this.line) return;
    plot(this.canvas, this.box, this.line, view);
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
    const query = new URLSearchParams({ start: "0", end: String(this.data.duration), points: String(width) });
    if (this.data.channel !== null && this.data.channel !== undefined) query.set("channel", String(this.data.channel));
    try {
      this.overviewLine = await this.api.call<Line>("GET", `/sounds/${this.data.sound_id}/peaks?${query}`);
      plot(this.overview.querySelector("canvas") as HTMLCanvasElement, this.overview, this.overviewLine,
        { start: 0, end: this.data.duration });
      this.placeWindow();
    } catch (error) {
      this.say(`The overview could not be loaded: ${(error as Error).message}`);
    }
  }

  private placeWindow(): void {
    if (!this.data) return;
    const whole = { start: 0, end: this.data.duration };
    const frame = this.overview.querySelector(".window") as HTMLElement;
    frame.style.left = `${fractionOf(whole, this.view.start) * 100}%`;
    frame.style.width = `${Math.max(0.3, (fractionOf(whole, this.view.end) - fractionOf(whole, this.view.start)) * 100)}%`;
  }

  /** A press or drag on the overview centres the view there, keeping its length. */
  private steer(event: MouseEvent): void {
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
    this.playButton.addEventListener("click", () => this.togglePlay());
    this.loopButton.addEventListener("click", () => this.toggleLoop());
    this.spectrogramButton.addEventListener("click", () => {
      this.spectrogramOn = !this.spectrogramOn;
      this.spectrogramButton.classList.toggle("on", this.spectrogramOn);
      this.spectrogramButton.setAttribute("aria-pressed", String(this.spectrogramOn));
      this.loadPicture();
    });
    const rate = this.root.querySelector(".rate") as HTMLSelectElement;
    rate.replaceChildren(...RATES.map((r) => {
      const option = element("option", { value: String(r) }, `${r}×`);
      option.selected = r === 1;
      return option;
    }));
    rate.addEventListener("change", () => { this.audio.playbackRate = Number(rate.value); });
  }

  private color(tag: string | undefined): string {
    return (tag && this.data.colors?.[tag]) || "#4a6fa5";
  }

  private choose(tag: string): void {
    this.current = tag;
    this.drawPalette();
  }

  // -- pointer gestures: draw on empty waveform, move by the body, resize by an edge -------------------------

  private regionAt(target: EventTarget | null): Region | null {
    const found = (target as HTMLElement | null)?.closest?.("[data-testid=earmark-region]") as HTMLElement | null;
    if (!found) return null;
    return this.regions.find((r) => String(r.key) === found.dataset.key) ?? null;
  }

  private gripOf(region: Region, clientX: number): Grip {
    const rect = this.elements.get(region.key)!.getBoundingClientRect();
    return gripAt(clientX - rect.left, rect.width);
  }

  private press(event: MouseEvent): void {
    this.clickEndsGesture = false;
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection while dragging; the keys go to the waveform, whatever had them
    this.box.focus({ preventScroll: true });
    const region = this.regionAt(event.target);
    const from = this.timeAtX(event.clientX);
    if (!region) {
      this.gesture = { kind: "draw", x: event.clientX, from, region: null, was: { start: from, end: from }, moved: false };
      return;
    }
    this.gesture = { kind: this.gripOf(region, event.clientX), x: event.clientX, from, region,
      was: { start: region.start, end: region.end }, moved: false };
  }

  private hover(event: MouseEvent): void {
    this.pointer = this.timeAtX(event.clientX);
    if (this.gesture) return;
    const region = this.regionAt(event.target);
    const grip = region && this.editable(region, false) ? this.gripOf(region, event.clientX) : null;
    this.box.style.cursor = grip === "body" ? "move" : grip ? "ew-resize" : region ? "pointer" : "crosshair";
  }

  private drag(event: MouseEvent): void {
    const gesture = this.gesture;
    if (!gesture) return;
    if (!gesture.moved && Math.abs(event.clientX - gesture.x) < DRAG_PIXELS) return;
    const now = this.timeAtX(event.clientX);
    if (gesture.kind === "draw") {
      const [a, b] = [gesture.from, now].sort((p, q) => p - q);
      if (!gesture.region) {
        gesture.region = newRegion(a, b, this.current ? [this.current] : []);
        this.regions.push(gesture.region);
      }
      Object.assign(gesture.region, { start: a, end: b });
    } else {
      if (!gesture.moved && !this.editable(gesture.region!)) {
        this.gesture = null;
        return;
      }
      const delta = (event.clientX - gesture.x) * this.secondsPerPixel();
      Object.assign(gesture.region!, dragged(gesture.kind, gesture.was, delta, this.data.duration));
    }
    gesture.moved = true;
    this.drawRegion(gesture.region!);
  }

  private release(): void {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture || !gesture.moved || !gesture.region) return;
    // The click that follows ends this drag, not a click of its own (a new press resets this, should none follow).
    this.clickEndsGesture = true;
    const region = gesture.region;
    if (gesture.kind === "draw") {
      if (!this.current) {
        this.regions = this.regions.filter((r) => r !== region);
        this.drawRegions();
        return this.say("Pick a tag above the waveform first (or type a new one): a region needs one.");
      }
      this.select(region);
      void this.create(region);
      return;
    }
    this.select(region);
    const changed = { start: region.start, end: region.end };
    Object.assign(region, gesture.was); // change() applies it again, remembering what it was
    void this.change(region, changed);
  }

  private click(event: MouseEvent): void {
    if (this.clickEndsGesture) {
      this.clickEndsGesture = false; // the end of a drag, not a click
      return;
    }
    const region = this.regionAt(event.target);
    if (region) {
      this.select(region);
    } else {
      this.select(null);
      this.seek(this.timeAtX(event.clientX));
    }
    this.box.focus();
  }

  // -- changes, saved in the background ------------------------------------------------------------------------

  /** Whether this person may change the region (suggestions: anyone who annotates, before accepting them). */
  private editable(region: Region, explain = true): boolean {
    if (region.mine || region.source === "suggestion") return true;
    if (explain) this.say("Only its author or an administrator can change this annotation.");
    return false;
  }

  /** Run `job` after the region's earlier changes are answered, so each is sent with the version the last gave. */
  private queue(region: Region, job: () => Promise<void>): Promise<void> {
    region.busy++;
    this.drawRegion(region);
    const next = (this.chains.get(region.key) ?? Promise.resolve()).then(job).finally(() => {
      region.busy--;
      if (!region.busy) this.chains.delete(region.key);
      this.drawRegion(region);
    });
    this.chains.set(region.key, next);
    return next;
  }

  /** A change was saved: once nothing has moved for CATCH_UP_MS (no gesture, no text being typed, nothing being
   * saved), ask the page for one run so its table and counts show it. */
  private saved(): void {
    window.clearTimeout(this.catchUp);
    this.catchUp = window.setTimeout(() => {
      if (this.gesture || !this.editor.hidden || this.chains.size > 0) return this.saved();
      this.rerun("changed");
    }, CATCH_UP_MS);
  }

  private refused(region: Region, what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    region.error = `${what}: ${message}`;
    this.say(region.error);
  }

  private adopt(region: Region, stored: Stored): void {
    Object.assign(region, { id: stored.id, version: stored.version, start: stored.start_seconds, end: stored.end_seconds,
      tags: stored.tags ?? [], text: stored.text ?? "", error: "" });
  }

  private create(region: Region): Promise<void> {
    return this.queue(region, async () => {
      try {
        this.adopt(region, await this.api.call<Stored>("POST", `/sounds/${this.data.sound_id}/annotations`,
          { start_seconds: region.start, end_seconds: region.end, tags: region.tags, channel: this.data.channel ?? null }));
        this.say("");
        this.saved();
      } catch (error) {
        this.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }

  /** Show `changes` now and save them; on a refusal show the server's sentence and what is stored instead. */
  private change(region: Region, changes: Partial<Pick<Region, "start" | "end" | "tags" | "text">>): Promise<void> {
    if (!this.editable(region)) return Promise.resolve();
    const before = { start: region.start, end: region.end, tags: region.tags, text: region.text };
    Object.assign(region, changes, { error: "" });
    if (region.source === "suggestion") { // kept here until accepted (A) or rejected (R)
      region.draft = true;
      this.drawRegion(region);
      return Promise.resolve();
    }
    this.drawRegion(region);
    const body: Record<string, unknown> = {};
    if ("start" in changes) body.start_seconds = changes.start;
    if ("end" in changes) body.end_seconds = changes.end;
    if ("tags" in changes) body.tags = changes.tags;
    if ("text" in changes) body.text = changes.text;
    return this.queue(region, async () => {
      if (!region.id) return; // its creation was refused: nothing to change
      try {
        this.adopt(region, await this.api.call<Stored>("PATCH", `/annotations/${region.id}`, { ...body, version: region.version }));
        this.say("");
        this.saved();
      } catch (error) {
        Object.assign(region, before);
        if (error instanceof ApiError && error.status === 409) await this.reload(region);
        if (error instanceof ApiError && error.status === 404) this.drop(region); // deleted by someone meanwhile
        this.refused(region, "Not saved", error);
      }
    });
  }

  /** After a 409: show the annotation as someone else stored it (or drop it if they deleted it). */
  private async reload(region: Region): Promise<void> {
    try {
      this.adopt(region, await this.api.call<Stored>("GET", `/annotations/${region.id}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.drop(region);
    }
  }

  private drop(region: Region): void {
    this.regions = this.regions.filter((r) => r !== region);
    if (this.selected === region) this.selected = null;
    if (this.loop === region) this.loop = null;
    this.drawRegions();
  }

  private remove(region: Region): void {
    if (!this.editable(region)) return;
    if (region.id) this.deleted.add(region.id);
    this.drop(region);
    void this.queue(region, async () => { // after its creation, if that is still on its way
      const id = region.id;
      if (!id) return; // its creation was refused: nothing was stored
      this.deleted.add(id);
      try {
        await this.api.call("DELETE", `/annotations/${id}`);
        this.say("");
        this.saved();
      } catch (error) {
        if (gone(error)) return this.say(`Already gone: ${(error as Error).message}`);
        this.deleted.delete(id);
        this.restore(region);
        this.refused(region, "Not deleted", error);
      }
    });
  }

  /** Put back a region taken off the screen by a change the server refused. */
  private restore(region: Region): void {
    if (!this.regions.includes(region)) this.regions = [...this.regions, region].sort((a, b) => a.start - b.start || a.key - b.key);
    this.drawRegions();
  }

  private review(region: Region, verdict: "accept" | "reject"): void {
    if (region.source !== "suggestion" || !region.id) return this.say("A and R accept or reject a machine suggestion; this is a person's annotation.");
    const id = region.id;
    if (verdict === "reject") {
      this.deleted.add(id);
      this.drop(region);
    }
    this.queue(region, async () => {
      try {
        if (verdict === "accept") {
          const stored = await this.api.call<Stored>("POST", `/annotations/${id}/accept`,
            { start_seconds: region.start, end_seconds: region.end, tags: region.tags, text: region.text });
          this.deleted.add(id); // the suggestion is gone; the region is now the person's new annotation
          this.adopt(region, stored);
          Object.assign(region, { source: "human", bot: "", mine: true, draft: false });
        } else {
          await this.api.call("POST", `/annotations/${id}/reject`);
        }
        this.say("");
        this.saved();
      } catch (error) {
        const what = verdict === "accept" ? "Not accepted" : "Not rejected";
        if (gone(error)) { // someone else reviewed it, or a re-run of its analyzer replaced it: it is not there
          this.deleted.add(id);
          this.drop(region);
          return this.say(`${what}: ${(error as Error).message}`);
        }
        if (verdict === "reject") {
          this.deleted.delete(id);
          this.restore(region);
        }
        this.refused(region, what, error);
        this.drawRegion(region);
      }
    });
  }

  private labelSelected(tag: string, on = false): void {
    const region = this.selected;
    if (!region) return;
    if (on && region.tags.includes(tag)) return;
    const tags = toggleTag(region.tags, tag);
    if (!tags.length && !region.text) return this.say("A region needs at least one tag or a text: add another before taking this one off.");
    this.change(region, { tags });
  }

  // -- the keyboard -------------------------------------------------------------------------------------------

  private key(event: KeyboardEvent): void {
    const region = this.selected;
    const centre = (this.view.start + this.view.end) / 2;
    const digit = /^[1-9]$/.test(event.key) ? this.tags()[Number(event.key) - 1] : undefined;
    const actions: Record<string, () => void> = {
      i: () => this.zoom(1 / 2, this.pointer ?? centre),
      o: () => this.zoom(2, this.pointer ?? centre),
      ArrowLeft: () => this.setView(shiftView(this.view, -0.2, this.data.duration)),
      ArrowRight: () => this.setView(shiftView(this.view, 0.2, this.data.duration)),
      " ": () => this.togglePlay(),
      l: () => this.toggleLoop(),
      Escape: () => this.select(null),
    };
    if (region) {
      Object.assign(actions, {
        Delete: () => this.remove(region), Backspace: () => this.remove(region),
        Enter: () => this.editText(region), a: () => this.review(region, "accept"), r: () => this.review(region, "reject"),
      });
    }
    if (digit) actions[event.key] = () => (region ? this.labelSelected(digit) : this.choose(digit));
    if (event.ctrlKey || event.metaKey || event.altKey) return; // the browser's and the page's own shortcuts
    const action = actions[event.key] ?? actions[event.key.toLowerCase()];
    if (!action) return;
    stop(event);
    action();
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
    if (was) this.drawRegion(was);
    if (region) this.drawRegion(region);
  }

  // -- playback -----------------------------------------------------------------------------------------------

  private togglePlay(): void {
    if (this.audio.paused) {
      this.audio.currentTime = this.cursor;
      this.audio.play().catch((error: Error) => this.say(`Cannot play: ${error.message}`));
    } else {
      this.cursor = this.audio.currentTime;
      this.audio.pause();
    }
  }

  /** Loop the selected region (again: stop looping). */
  private toggleLoop(): void {
    const region = this.selected;
    this.loop = this.loop || !region ? null : region;
    this.loopButton.classList.toggle("on", Boolean(this.loop));
    this.loopButton.setAttribute("aria-pressed", String(Boolean(this.loop)));
    if (!region && !this.loop) this.say("Select a region to loop it.");
    if (this.loop) {
      this.cursor = this.loop.start;
      if (this.audio.paused) this.togglePlay();
      else this.audio.currentTime = this.loop.start;
    }
  }

  private seek(time: number): void {
    this.cursor = time;
    if (!this.audio.paused) this.audio.currentTime = time;
    this.movePlayhead(time);
  }

  private follow(): void {
    const step = () => {
      if (this.audio.paused) return;
      let now = this.audio.currentTime;
      if (this.loop && (now >= this.loop.end || now < this.loop.start - 0.25)) {
        now = this.audio.currentTime = this.loop.start;
      }
      if (now > this.view.end) this.setView(clampView(now, now + (this.view.end - this.view.start), this.data.duration));
      this.movePlayhead(now);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  private movePlayhead(time: number): void {
    this.playhead.dataset.time = time.toFixed(3);
    this.clock.textContent = `${time.toFixed(2)} s`;
    const where = fractionOf(this.view, time);
    const inside = where >= 0 && where <= 1;
    this.playhead.style.display = inside ? "block" : "none";
    if (inside) this.playhead.style.left = `${where * 100}%`;
  }

  // -- regions on screen (one element each, kept and updated: a drag redraws only the region it moves) --------

  private drawRegions(): void {
    const shown = new Set<number>();
    for (const region of this.regions) {
      if (region.end > this.view.start && region.start < this.view.end) {
        shown.add(region.key);
        this.drawRegion(region);
      }
    }
    for (const [key, made] of this.elements) {
      if (!shown.has(key)) {
        made.remove();
        this.elements.delete(key);
      }
    }
  }

  private drawRegion(region: Region): void {
    let made = this.elements.get(region.key);
    const visible = this.regions.includes(region) && region.end > this.view.start && region.start < this.view.end;
    if (!visible) {
      made?.remove();
      this.elements.delete(region.key);
      return;
    }
    if (!made) {
      made = element("div", { "data-testid": "earmark-region" });
      made.append(element("span"));
      this.elements.set(region.key, made);
      this.layer.append(made);
    }
    const suggestion = region.source === "suggestion";
    Object.assign(made.dataset, {
      key: String(region.key), id: region.id ?? "", start: String(region.start), end: String(region.end),
      tags: region.tags.join(";"), source: region.source, text: region.text,
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
    const label = (suggestion ? `? ${region.bot}: ` : "") + region.tags.join(", ") + (region.text ? ` “${region.text}”` : "");
    (made.firstChild as HTMLElement).textContent = region.error ? `⚠ ${label}` : label;
  }

  private say(message: string): void {
    this.status.textContent = message;
  }
}
