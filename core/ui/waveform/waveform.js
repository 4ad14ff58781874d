// Built from core/ui/waveform/frontend/src by 'npm run build' (esbuild): do not edit, change the source.

// src/api.ts
var ApiError = class extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
  status;
};
var Api = class {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }
  base;
  token;
  async call(method, path, body, signal) {
    const response = await this.send(method, path, body, signal);
    if (response.status === 204) return null;
    return await response.json();
  }
  /** A binary answer (an image), with the same errors as `call`. */
  async blob(path, signal) {
    return (await this.send("GET", path, void 0, signal)).blob();
  }
  async send(method, path, body, signal) {
    let response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        signal,
        headers: { Authorization: `Bearer ${this.token}`, ...body === void 0 ? {} : { "Content-Type": "application/json" } },
        body: body === void 0 ? void 0 : JSON.stringify(body)
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("the server cannot be reached; check the connection and try again.", 0);
    }
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      throw new ApiError(answer.error || response.statusText || `HTTP ${response.status}`, response.status);
    }
    return response;
  }
};

// src/regions.ts
var MIN_REGION_SECONDS = 0.01;
var EDGE_PIXELS = 6;
function gripAt(offset, width, edge = EDGE_PIXELS) {
  const reach = Math.min(edge, width / 3);
  if (offset <= reach) return "start";
  if (offset >= width - reach) return "end";
  return "body";
}
function dragged(grip, from, delta, duration) {
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
function toggleTag(tags, tag) {
  return tags.includes(tag) ? tags.filter((t) => t !== tag) : [...tags, tag];
}
function cleanTag(typed) {
  return typed.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
}
var keys = 0;
function fromServer(r) {
  return { ...r, tags: [...r.tags], key: ++keys, busy: 0, draft: false, error: "", local: false };
}
function newRegion(start, end, tags) {
  return {
    key: ++keys,
    id: null,
    start,
    end,
    tags,
    text: "",
    source: "human",
    bot: "",
    version: null,
    mine: true,
    busy: 0,
    draft: false,
    error: "",
    local: true
  };
}
function mergeRegions(current, incoming, deleted) {
  const byId = new Map(current.filter((r) => r.id).map((r) => [r.id, r]));
  const seen = /* @__PURE__ */ new Set();
  const merged = [];
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
      Object.assign(mine, { start: r.start, end: r.end, tags: [...r.tags], text: r.text, version: r.version, mine: r.mine });
    }
    merged.push(mine);
  }
  for (const r of current) {
    if ((r.id === null || !seen.has(r.id)) && (r.local || r.busy)) merged.push(r);
  }
  return merged.sort((a, b) => a.start - b.start || a.key - b.key);
}

// src/timeline.ts
var MIN_VIEW_SECONDS = 0.05;
function clampView(start, end, duration) {
  const length = Math.min(duration, Math.max(MIN_VIEW_SECONDS, end - start));
  const from = Math.min(Math.max(0, start), Math.max(0, duration - length));
  return { start: from, end: from + length };
}
function zoomView(view, factor, around, duration) {
  return clampView(around - (around - view.start) * factor, around + (view.end - around) * factor, duration);
}
function shiftView(view, fraction, duration) {
  const shift = (view.end - view.start) * fraction;
  return clampView(view.start + shift, view.end + shift, duration);
}
function timeAt(view, fraction) {
  return view.start + Math.min(1, Math.max(0, fraction)) * (view.end - view.start);
}
function fractionOf(view, time) {
  return (time - view.start) / (view.end - view.start);
}
function wheelFactor(deltaY, pinch) {
  if (pinch) return Math.exp(Math.max(-1, Math.min(1, deltaY * 0.01)));
  return deltaY < 0 ? 1 / 1.25 : 1.25;
}
function ticks(view, width, minPixels = 90) {
  const least = (view.end - view.start) * minPixels / Math.max(1, width);
  const power = 10 ** Math.floor(Math.log10(least));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= least) ?? 10 * power;
  const times = [];
  for (let i = Math.ceil(view.start / step); i * step <= view.end + step * 1e-9; i++) times.push(i * step);
  return { step, times };
}
function timeLabel(seconds, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const whole = Math.floor(seconds + 1e-9);
  const fraction = decimals ? (seconds - whole).toFixed(decimals).slice(1) : "";
  if (seconds < 60) return `${(seconds + 1e-9).toFixed(decimals)} s`;
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor(whole % 3600 / 60), whole % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return (h ? `${h}:${pad(m)}` : `${m}`) + `:${pad(s)}${fraction}`;
}

// src/waveform.ts
var CATCH_UP_MS = 2e3;
var DRAG_PIXELS = 4;
var RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
function gone(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 409);
}
function stop(event) {
  event.preventDefault();
  event.stopPropagation();
}
function element(tag, attributes = {}, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.textContent = text;
  return made;
}
function plot(canvas, box, line, view) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(box.clientWidth * ratio);
  canvas.height = Math.round(box.clientHeight * ratio);
  const context = canvas.getContext("2d");
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
var Waveform = class {
  constructor(root, rerun) {
    this.root = root;
    this.rerun = rerun;
    const find = (selector) => root.querySelector(selector);
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
    this.overview.addEventListener("mousedown", (e) => {
      this.steering = true;
      this.steer(e);
      e.preventDefault();
    });
    window.addEventListener("mousemove", (e) => {
      if (this.steering) this.steer(e);
    });
    window.addEventListener("mouseup", () => {
      this.steering = false;
    });
    this.spectrogramButton = find(".spectrogram-toggle");
    this.picture = find(".spectrogram");
    this.pictureNote = find(".spectrogram-note");
    this.buildToolbar();
    this.box.addEventListener("mousedown", (e) => this.press(e));
    window.addEventListener("mousemove", (e) => this.drag(e));
    window.addEventListener("mouseup", () => this.release());
    this.box.addEventListener("mousemove", (e) => this.hover(e));
    this.box.addEventListener("mouseleave", () => {
      this.pointer = null;
    });
    this.box.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    this.box.addEventListener("keydown", (e) => this.key(e));
    this.box.addEventListener("click", (e) => this.click(e));
    this.editor.addEventListener("keydown", (e) => this.editorKey(e));
    this.audio.addEventListener("play", () => {
      this.playButton.textContent = "⏸ Pause";
      this.follow();
    });
    this.audio.addEventListener("pause", () => {
      this.playButton.textContent = "▶ Play";
    });
    new ResizeObserver(() => {
      this.drawRuler();
      this.load();
      this.loadOverview();
    }).observe(this.box);
    window.setInterval(() => this.renewToken(), 3e4);
  }
  root;
  rerun;
  box;
  canvas;
  layer;
  playhead;
  audio;
  status;
  palette;
  editor;
  playButton;
  loopButton;
  clock;
  ruler;
  overview;
  // the whole sound, small, with the view's window on it
  overviewLine = null;
  steering = false;
  // a press on the overview is moving the view
  spectrogramButton;
  picture;
  pictureNote;
  spectrogramOn = false;
  pictureRequest = null;
  data;
  api = new Api("", "");
  regions = [];
  elements = /* @__PURE__ */ new Map();
  deleted = /* @__PURE__ */ new Set();
  chains = /* @__PURE__ */ new Map();
  extraTags = [];
  selected = null;
  current = null;
  // the tag new regions get
  gesture = null;
  clickEndsGesture = false;
  view = { start: 0, end: 0 };
  line = null;
  pending = null;
  cursor = 0;
  pointer = null;
  // the time under the mouse, while it is over the waveform
  loop = null;
  tokenAt = 0;
  // when the page's current token arrived
  renewing = false;
  catchUp = 0;
  // the timer that asks the page to catch up with changes saved here
  firstView = false;
  /** Someone may annotate for hours without touching the page around this component: halfway through the page
   * token's life, ask for a page run, which hands over a new one (the old one stays good meanwhile). */
  renewToken(force = false) {
    if (!this.data || this.renewing) return;
    if (!force && Date.now() - this.tokenAt < this.data.token_seconds * 1e3 / 2) return;
    this.renewing = true;
    this.rerun("renew");
  }
  // -- the page's data ------------------------------------------------------------------------------------
  update(data) {
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
      performance.mark("earmark:sound");
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
  tags() {
    return [...this.data.tags || [], ...this.extraTags.filter((t) => !(this.data.tags || []).includes(t))];
  }
  // -- the view ---------------------------------------------------------------------------------------------
  timeAtX(clientX) {
    const rect = this.box.getBoundingClientRect();
    return timeAt(this.view, (clientX - rect.left) / rect.width);
  }
  secondsPerPixel() {
    return (this.view.end - this.view.start) / Math.max(1, this.box.getBoundingClientRect().width);
  }
  setView(view) {
    this.view = view;
    this.drawRuler();
    this.placeWindow();
    this.drawRegions();
    this.movePlayhead(this.audio.paused ? this.cursor : this.audio.currentTime);
    this.load();
  }
  zoom(factor, around) {
    this.setView(zoomView(this.view, factor, around, this.data.duration));
  }
  wheel(event) {
    event.preventDefault();
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      this.setView(shiftView(this.view, 0.1 * Math.sign(event.deltaX || event.deltaY), this.data.duration));
      return;
    }
    this.zoom(wheelFactor(event.deltaY, event.ctrlKey), this.timeAtX(event.clientX));
  }
  /** Ask the server for exactly the window shown (two points per pixel); a newer view cancels an older request. */
  async load() {
    if (!this.data) return;
    const { start, end } = this.view;
    this.box.dataset.ready = "false";
    this.pending?.abort();
    const controller = this.pending = new AbortController();
    const width = Math.max(10, Math.min(2500, Math.round(this.box.clientWidth || 800)));
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4), points: String(2 * width) });
    if (this.data.channel !== null && this.data.channel !== void 0) query.set("channel", String(this.data.channel));
    try {
      this.line = await this.api.call("GET", `/sounds/${this.data.sound_id}/peaks?${query}`, void 0, controller.signal);
      if (controller !== this.pending) return;
      this.draw({ start, end });
      this.loadPicture();
    } catch (error) {
      if (error.name !== "AbortError") this.say(`The waveform could not be loaded: ${error.message}`);
    }
  }
  /** The spectrogram of the view drawn, when it is switched on (a PNG fetched with the page token). */
  async loadPicture() {
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
    const controller = this.pictureRequest = new AbortController();
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4) });
    if (this.data.channel !== null && this.data.channel !== void 0) query.set("channel", String(this.data.channel));
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
      if (error.name !== "AbortError") this.say(`The spectrogram could not be loaded: ${error.message}`);
    }
  }
  draw(view) {
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
  async loadOverview() {
    if (!this.data) return;
    const width = Math.max(10, Math.min(2500, Math.round(this.overview.clientWidth || 800)));
    const query = new URLSearchParams({ start: "0", end: String(this.data.duration), points: String(width) });
    if (this.data.channel !== null && this.data.channel !== void 0) query.set("channel", String(this.data.channel));
    try {
      this.overviewLine = await this.api.call("GET", `/sounds/${this.data.sound_id}/peaks?${query}`);
      plot(
        this.overview.querySelector("canvas"),
        this.overview,
        this.overviewLine,
        { start: 0, end: this.data.duration }
      );
      this.placeWindow();
    } catch (error) {
      this.say(`The overview could not be loaded: ${error.message}`);
    }
  }
  placeWindow() {
    if (!this.data) return;
    const whole = { start: 0, end: this.data.duration };
    const frame = this.overview.querySelector(".window");
    frame.style.left = `${fractionOf(whole, this.view.start) * 100}%`;
    frame.style.width = `${Math.max(0.3, (fractionOf(whole, this.view.end) - fractionOf(whole, this.view.start)) * 100)}%`;
  }
  /** A press or drag on the overview centres the view there, keeping its length. */
  steer(event) {
    const rect = this.overview.getBoundingClientRect();
    const at = timeAt({ start: 0, end: this.data.duration }, (event.clientX - rect.left) / rect.width);
    const half = (this.view.end - this.view.start) / 2;
    this.setView(clampView(at - half, at + half, this.data.duration));
  }
  drawRuler() {
    const { step, times } = ticks(this.view, this.box.clientWidth || 800);
    this.ruler.replaceChildren(...times.map((t) => {
      const mark = element("span", {}, timeLabel(t, step));
      mark.style.left = `${fractionOf(this.view, t) * 100}%`;
      return mark;
    }));
  }
  // -- the palette and the toolbar ---------------------------------------------------------------------------
  drawPalette() {
    const buttons = this.tags().map((tag, i) => {
      const button = element(
        "button",
        {
          "data-testid": "earmark-tag",
          "data-tag": tag,
          type: "button",
          title: i < 9 ? `Key ${i + 1}: new regions get this tag; on a selected region, adds or removes it` : ""
        },
        i < 9 ? `${i + 1} ${tag}` : tag
      );
      button.className = tag === this.current ? "current" : "";
      button.style.setProperty("--tag-color", this.color(tag));
      button.addEventListener("click", () => this.selected ? this.labelSelected(tag) : this.choose(tag));
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
  buildToolbar() {
    this.playButton.addEventListener("click", () => this.togglePlay());
    this.loopButton.addEventListener("click", () => this.toggleLoop());
    this.spectrogramButton.addEventListener("click", () => {
      this.spectrogramOn = !this.spectrogramOn;
      this.spectrogramButton.classList.toggle("on", this.spectrogramOn);
      this.spectrogramButton.setAttribute("aria-pressed", String(this.spectrogramOn));
      this.loadPicture();
    });
    const rate = this.root.querySelector(".rate");
    rate.replaceChildren(...RATES.map((r) => {
      const option = element("option", { value: String(r) }, `${r}×`);
      option.selected = r === 1;
      return option;
    }));
    rate.addEventListener("change", () => {
      this.audio.playbackRate = Number(rate.value);
    });
  }
  color(tag) {
    return tag && this.data.colors?.[tag] || "#4a6fa5";
  }
  choose(tag) {
    this.current = tag;
    this.drawPalette();
  }
  // -- pointer gestures: draw on empty waveform, move by the body, resize by an edge -------------------------
  regionAt(target) {
    const found = target?.closest?.("[data-testid=earmark-region]");
    if (!found) return null;
    return this.regions.find((r) => String(r.key) === found.dataset.key) ?? null;
  }
  gripOf(region, clientX) {
    const rect = this.elements.get(region.key).getBoundingClientRect();
    return gripAt(clientX - rect.left, rect.width);
  }
  press(event) {
    this.clickEndsGesture = false;
    if (event.button !== 0) return;
    event.preventDefault();
    this.box.focus({ preventScroll: true });
    const region = this.regionAt(event.target);
    const from = this.timeAtX(event.clientX);
    if (!region) {
      this.gesture = { kind: "draw", x: event.clientX, from, region: null, was: { start: from, end: from }, moved: false };
      return;
    }
    this.gesture = {
      kind: this.gripOf(region, event.clientX),
      x: event.clientX,
      from,
      region,
      was: { start: region.start, end: region.end },
      moved: false
    };
  }
  hover(event) {
    this.pointer = this.timeAtX(event.clientX);
    if (this.gesture) return;
    const region = this.regionAt(event.target);
    const grip = region && this.editable(region, false) ? this.gripOf(region, event.clientX) : null;
    this.box.style.cursor = grip === "body" ? "move" : grip ? "ew-resize" : region ? "pointer" : "crosshair";
  }
  drag(event) {
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
      if (!gesture.moved && !this.editable(gesture.region)) {
        this.gesture = null;
        return;
      }
      const delta = (event.clientX - gesture.x) * this.secondsPerPixel();
      Object.assign(gesture.region, dragged(gesture.kind, gesture.was, delta, this.data.duration));
    }
    gesture.moved = true;
    this.drawRegion(gesture.region);
  }
  release() {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture || !gesture.moved || !gesture.region) return;
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
    Object.assign(region, gesture.was);
    void this.change(region, changed);
  }
  click(event) {
    if (this.clickEndsGesture) {
      this.clickEndsGesture = false;
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
  editable(region, explain = true) {
    if (region.mine || region.source === "suggestion") return true;
    if (explain) this.say("Only its author or an administrator can change this annotation.");
    return false;
  }
  /** Run `job` after the region's earlier changes are answered, so each is sent with the version the last gave. */
  queue(region, job) {
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
  saved() {
    window.clearTimeout(this.catchUp);
    this.catchUp = window.setTimeout(() => {
      if (this.gesture || !this.editor.hidden || this.chains.size > 0) return this.saved();
      this.rerun("changed");
    }, CATCH_UP_MS);
  }
  refused(region, what, error) {
    const message = error instanceof Error ? error.message : String(error);
    region.error = `${what}: ${message}`;
    this.say(region.error);
  }
  adopt(region, stored) {
    Object.assign(region, {
      id: stored.id,
      version: stored.version,
      start: stored.start_seconds,
      end: stored.end_seconds,
      tags: stored.tags ?? [],
      text: stored.text ?? "",
      error: ""
    });
  }
  create(region) {
    return this.queue(region, async () => {
      try {
        this.adopt(region, await this.api.call(
          "POST",
          `/sounds/${this.data.sound_id}/annotations`,
          { start_seconds: region.start, end_seconds: region.end, tags: region.tags, channel: this.data.channel ?? null }
        ));
        this.say("");
        this.saved();
      } catch (error) {
        this.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }
  /** Show `changes` now and save them; on a refusal show the server's sentence and what is stored instead. */
  change(region, changes) {
    if (!this.editable(region)) return Promise.resolve();
    const before = { start: region.start, end: region.end, tags: region.tags, text: region.text };
    Object.assign(region, changes, { error: "" });
    if (region.source === "suggestion") {
      region.draft = true;
      this.drawRegion(region);
      return Promise.resolve();
    }
    this.drawRegion(region);
    const body = {};
    if ("start" in changes) body.start_seconds = changes.start;
    if ("end" in changes) body.end_seconds = changes.end;
    if ("tags" in changes) body.tags = changes.tags;
    if ("text" in changes) body.text = changes.text;
    return this.queue(region, async () => {
      if (!region.id) return;
      try {
        this.adopt(region, await this.api.call("PATCH", `/annotations/${region.id}`, { ...body, version: region.version }));
        this.say("");
        this.saved();
      } catch (error) {
        Object.assign(region, before);
        if (error instanceof ApiError && error.status === 409) await this.reload(region);
        if (error instanceof ApiError && error.status === 404) this.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }
  /** After a 409: show the annotation as someone else stored it (or drop it if they deleted it). */
  async reload(region) {
    try {
      this.adopt(region, await this.api.call("GET", `/annotations/${region.id}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.drop(region);
    }
  }
  drop(region) {
    this.regions = this.regions.filter((r) => r !== region);
    if (this.selected === region) this.selected = null;
    if (this.loop === region) this.loop = null;
    this.drawRegions();
  }
  remove(region) {
    if (!this.editable(region)) return;
    if (region.id) this.deleted.add(region.id);
    this.drop(region);
    void this.queue(region, async () => {
      const id = region.id;
      if (!id) return;
      this.deleted.add(id);
      try {
        await this.api.call("DELETE", `/annotations/${id}`);
        this.say("");
        this.saved();
      } catch (error) {
        if (gone(error)) return this.say(`Already gone: ${error.message}`);
        this.deleted.delete(id);
        this.restore(region);
        this.refused(region, "Not deleted", error);
      }
    });
  }
  /** Put back a region taken off the screen by a change the server refused. */
  restore(region) {
    if (!this.regions.includes(region)) this.regions = [...this.regions, region].sort((a, b) => a.start - b.start || a.key - b.key);
    this.drawRegions();
  }
  review(region, verdict) {
    if (region.source !== "suggestion" || !region.id) return this.say("A and R accept or reject a machine suggestion; this is a person's annotation.");
    const id = region.id;
    if (verdict === "reject") {
      this.deleted.add(id);
      this.drop(region);
    }
    this.queue(region, async () => {
      try {
        if (verdict === "accept") {
          const stored = await this.api.call(
            "POST",
            `/annotations/${id}/accept`,
            { start_seconds: region.start, end_seconds: region.end, tags: region.tags, text: region.text }
          );
          this.deleted.add(id);
          this.adopt(region, stored);
          Object.assign(region, { source: "human", bot: "", mine: true, draft: false });
        } else {
          await this.api.call("POST", `/annotations/${id}/reject`);
        }
        this.say("");
        this.saved();
      } catch (error) {
        const what = verdict === "accept" ? "Not accepted" : "Not rejected";
        if (gone(error)) {
          this.deleted.add(id);
          this.drop(region);
          return this.say(`${what}: ${error.message}`);
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
  labelSelected(tag, on = false) {
    const region = this.selected;
    if (!region) return;
    if (on && region.tags.includes(tag)) return;
    const tags = toggleTag(region.tags, tag);
    if (!tags.length && !region.text) return this.say("A region needs at least one tag or a text: add another before taking this one off.");
    this.change(region, { tags });
  }
  // -- the keyboard -------------------------------------------------------------------------------------------
  key(event) {
    const region = this.selected;
    const centre = (this.view.start + this.view.end) / 2;
    const digit = /^[1-9]$/.test(event.key) ? this.tags()[Number(event.key) - 1] : void 0;
    const actions = {
      i: () => this.zoom(1 / 2, this.pointer ?? centre),
      o: () => this.zoom(2, this.pointer ?? centre),
      ArrowLeft: () => this.setView(shiftView(this.view, -0.2, this.data.duration)),
      ArrowRight: () => this.setView(shiftView(this.view, 0.2, this.data.duration)),
      " ": () => this.togglePlay(),
      l: () => this.toggleLoop(),
      Escape: () => this.select(null)
    };
    if (region) {
      Object.assign(actions, {
        Delete: () => this.remove(region),
        Backspace: () => this.remove(region),
        Enter: () => this.editText(region),
        a: () => this.review(region, "accept"),
        r: () => this.review(region, "reject")
      });
    }
    if (digit) actions[event.key] = () => region ? this.labelSelected(digit) : this.choose(digit);
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const action = actions[event.key] ?? actions[event.key.toLowerCase()];
    if (!action) return;
    stop(event);
    action();
  }
  editText(region) {
    if (!this.editable(region)) return;
    this.editor.hidden = false;
    this.editor.value = region.text;
    this.editor.dataset.key = String(region.key);
    this.editor.focus();
    this.editor.select();
  }
  editorKey(event) {
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
  select(region) {
    const was = this.selected;
    this.selected = region;
    if (was) this.drawRegion(was);
    if (region) this.drawRegion(region);
  }
  // -- playback -----------------------------------------------------------------------------------------------
  togglePlay() {
    if (this.audio.paused) {
      this.audio.currentTime = this.cursor;
      this.audio.play().catch((error) => this.say(`Cannot play: ${error.message}`));
    } else {
      this.cursor = this.audio.currentTime;
      this.audio.pause();
    }
  }
  /** Loop the selected region (again: stop looping). */
  toggleLoop() {
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
  seek(time) {
    this.cursor = time;
    if (!this.audio.paused) this.audio.currentTime = time;
    this.movePlayhead(time);
  }
  follow() {
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
  movePlayhead(time) {
    this.playhead.dataset.time = time.toFixed(3);
    this.clock.textContent = `${time.toFixed(2)} s`;
    const where = fractionOf(this.view, time);
    const inside = where >= 0 && where <= 1;
    this.playhead.style.display = inside ? "block" : "none";
    if (inside) this.playhead.style.left = `${where * 100}%`;
  }
  // -- regions on screen (one element each, kept and updated: a drag redraws only the region it moves) --------
  drawRegions() {
    const shown = /* @__PURE__ */ new Set();
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
  drawRegion(region) {
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
      key: String(region.key),
      id: region.id ?? "",
      start: String(region.start),
      end: String(region.end),
      tags: region.tags.join(";"),
      source: region.source,
      text: region.text,
      saved: region.id && !region.busy && !region.draft ? "true" : "false",
      error: region.error
    });
    made.className = [
      "region",
      region.source,
      region === this.selected ? "selected" : "",
      region.error ? "refused" : "",
      region.mine || suggestion ? "" : "others"
    ].filter(Boolean).join(" ");
    made.title = region.error || (suggestion ? `Suggested by ${region.bot}: A accepts, R rejects` : region.text);
    made.style.setProperty("--tag-color", this.color(region.tags[0]));
    const left = Math.max(0, fractionOf(this.view, region.start));
    const right = Math.min(1, fractionOf(this.view, region.end));
    made.style.left = `${left * 100}%`;
    made.style.width = `${(right - left) * 100}%`;
    const label = (suggestion ? `? ${region.bot}: ` : "") + region.tags.join(", ") + (region.text ? ` “${region.text}”` : "");
    made.firstChild.textContent = region.error ? `⚠ ${label}` : label;
  }
  say(message) {
    this.status.textContent = message;
  }
};

// src/index.ts
function index_default({ parentElement, data, setTriggerValue }) {
  const root = parentElement;
  root.__earmark ??= new Waveform(root, (why) => setTriggerValue(why, Date.now()));
  root.__earmark.update(data);
}
export {
  index_default as default
};
