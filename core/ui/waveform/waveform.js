// Built from core/ui/waveform/frontend/src by 'npm run build' (esbuild): do not edit, change the source.

// src/activity.ts
var IDLE_SECONDS = 60;
var REPORT_SECONDS = 30;
var ActiveClock = class {
  lastInput = Number.NEGATIVE_INFINITY;
  // ms
  lastTick = null;
  // ms
  counted = 0;
  // seconds not yet reported
  lastReport;
  // ms
  constructor(now) {
    this.lastReport = now;
  }
  /** The person did something at `now` (ms). */
  touch(now) {
    this.lastInput = now;
  }
  /** Time passed to `now` (ms): the part of it that was active is counted. `playing`: the sound played meanwhile;
   * `visible`: the page was in view. Gaps (a sleeping laptop's timers) count only up to the idle limit. */
  tick(now, playing, visible) {
    const from = this.lastTick ?? now;
    this.lastTick = now;
    if (!visible || now <= from) return;
    if (playing) {
      this.counted += (now - from) / 1e3;
      return;
    }
    const activeUntil = this.lastInput + IDLE_SECONDS * 1e3;
    const end = Math.min(now, activeUntil);
    if (end > from) this.counted += (end - from) / 1e3;
  }
  /** Whole seconds to report now (0: nothing yet, or not time to report), taken off the count. `force`: report
   * whatever there is (the sound is done). */
  take(now, force = false) {
    if (!force && now - this.lastReport < REPORT_SECONDS * 1e3) return 0;
    const seconds = Math.floor(this.counted);
    if (seconds < 1) return 0;
    this.counted -= seconds;
    this.lastReport = now;
    return seconds;
  }
  /** Everything counted, to the millisecond, taken off the count: the page is leaving the sound, so nothing is
   * kept for a later report. */
  drain(now) {
    const seconds = Math.round(this.counted * 1e3) / 1e3;
    this.counted = 0;
    this.lastReport = now;
    return seconds;
  }
};
function leave(clock, now, playing, soundId, assigned, send) {
  clock.tick(now, playing, true);
  const seconds = clock.drain(now);
  if (!assigned || !soundId || seconds <= 0) return 0;
  send(soundId, seconds);
  return seconds;
}

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
  /** A small POST that outlives the page (fetch's `keepalive`: the browser sends it even as the tab closes);
   * nothing waits for the answer, and a failure is not shown (the page is going away). */
  postAndForget(path, body) {
    fetch(`${this.base}${path}`, {
      method: "POST",
      keepalive: true,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).catch(() => void 0);
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
function toMillisecond(seconds) {
  return Math.round(seconds * 1e3) / 1e3;
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

// src/drawing.ts
var WAVE_COLOR = "#4a6fa5";
function prepare(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  const [w, h] = [Math.max(1, Math.round(width * ratio)), Math.max(1, Math.round(height * ratio))];
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const context = canvas.getContext("2d");
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, w, h);
  context.scale(ratio, ratio);
  return context;
}
function plot(canvas, width, height, line, view, color = WAVE_COLOR) {
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
function runs(spans, view, width) {
  const pixels = spans.map((span) => ({
    left: Math.max(0, fractionOf(view, span.start) * width),
    right: Math.min(width, fractionOf(view, span.end) * width),
    row: span.row,
    fill: span.dashed ? "#888888" : span.color
  })).filter((r) => r.right >= 0 && r.left <= width).map((r) => ({ ...r, right: Math.max(r.right, r.left + 1) }));
  pixels.sort((a, b) => a.row - b.row || (a.fill < b.fill ? -1 : a.fill > b.fill ? 1 : 0) || a.left - b.left);
  const merged = [];
  for (const run of pixels) {
    const last = merged[merged.length - 1];
    if (last && last.row === run.row && last.fill === run.fill && run.left <= last.right + 1) last.right = Math.max(last.right, run.right);
    else merged.push({ ...run });
  }
  return merged;
}
function paintSpans(context, spans, view, width, height, rowHeight, alpha) {
  context.globalAlpha = alpha;
  for (const run of runs(spans, view, width)) {
    context.fillStyle = run.fill;
    const top = rowHeight ? run.row * rowHeight + 2 : 0;
    context.fillRect(run.left, top, run.right - run.left, rowHeight ? rowHeight - 4 : height);
  }
  context.globalAlpha = 1;
}

// src/history.ts
var HISTORY_LIMIT = 200;
var History = class {
  done = [];
  undone = [];
  /** A new change: it can be undone, and what was undone before it can no longer be redone. */
  record(step) {
    this.done.push(step);
    if (this.done.length > HISTORY_LIMIT) this.done.shift();
    this.undone = [];
  }
  undo() {
    const step = this.done.pop();
    if (!step) return null;
    step.undo();
    this.undone.push(step);
    return step;
  }
  redo() {
    const step = this.undone.pop();
    if (!step) return null;
    step.redo();
    this.done.push(step);
    return step;
  }
  clear() {
    this.done = [];
    this.undone = [];
  }
  get size() {
    return { undo: this.done.length, redo: this.undone.length };
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
  delta = Math.round(delta * 1e3) / 1e3;
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
  return {
    ...r,
    tags: [...r.tags],
    key: ++keys,
    busy: 0,
    draft: false,
    error: "",
    local: false,
    origin: r.origin ?? "",
    author: r.author ?? "",
    gold: r.gold ?? false,
    suggested: r.source === "suggestion" ? { start: r.start, end: r.end, tags: [...r.tags], text: r.text } : null
  };
}
function newRegion(start, end, tags, gold = false) {
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
    local: true,
    origin: "",
    suggested: null,
    author: "",
    gold
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
      Object.assign(mine, {
        start: r.start,
        end: r.end,
        tags: [...r.tags],
        text: r.text,
        version: r.version,
        mine: r.mine,
        author: r.author ?? mine.author,
        gold: r.gold ?? mine.gold
      });
      if (r.source === "suggestion") mine.suggested = { start: r.start, end: r.end, tags: [...r.tags], text: r.text };
    }
    merged.push(mine);
  }
  for (const r of current) {
    if ((r.id === null || !seen.has(r.id)) && (r.local || r.busy)) merged.push(r);
  }
  return merged.sort((a, b) => a.start - b.start || a.key - b.key);
}

// src/editor.ts
var Editor = class {
  constructor(saver, screen) {
    this.saver = saver;
    this.screen = screen;
  }
  saver;
  screen;
  regions = [];
  selected = null;
  history = new History();
  /** A new sound: nothing carried over. */
  reset() {
    this.regions = [];
    this.selected = null;
    this.saver.deleted.clear();
    this.history.clear();
  }
  /** The page's regions, merged with what is being edited here (src/regions.ts `mergeRegions`). */
  merge(incoming) {
    this.regions = mergeRegions(this.regions, incoming, this.saver.deleted);
    if (this.selected && !this.regions.includes(this.selected)) this.selected = null;
  }
  /** Whether this person may change the region (suggestions: anyone who annotates, before accepting them). */
  editable(region, explain = true) {
    if (region.mine || region.source === "suggestion") return true;
    if (explain) this.screen.say("Only its author or an administrator can change this annotation.");
    return false;
  }
  select(region) {
    const was = this.selected;
    this.selected = region;
    if (was && was !== region && untagged(was)) this.drop(was);
    if (was) this.screen.redraw(was);
    if (region) this.screen.redraw(region);
  }
  /** A region was drawn (a drag, or [ and ]): stored at once if it has a tag, else once it gets one. */
  made(region) {
    if (!this.regions.includes(region)) this.regions.push(region);
    this.screen.reposition(region);
    this.select(region);
    if (region.tags.length) return this.store(region);
    this.screen.say("Type a tag for the new region and press Enter (Esc drops it).");
    this.screen.askTag();
  }
  /** Save a new region, and remember it so Ctrl+Z takes it out again. */
  store(region) {
    void this.saver.create(region);
    this.history.record({ what: "new region", undo: () => this.delete(region), redo: () => this.recreate(region) });
  }
  /** Show `changes` now and save them; Ctrl+Z puts back what was there. */
  change(region, changes) {
    if (!this.editable(region)) return;
    const before = {};
    for (const name of Object.keys(changes)) Object.assign(before, { [name]: region[name] });
    this.apply(region, changes, before);
    this.history.record({ what: "change", undo: () => this.apply(region, before, changes), redo: () => this.apply(region, changes, before) });
  }
  /** A drag let go: the bounds it shows are the change (`was`: where the region was when the press began). */
  moved(region, was) {
    this.select(region);
    const changed = { start: region.start, end: region.end };
    Object.assign(region, was);
    this.change(region, changed);
    this.screen.reposition(region);
  }
  apply(region, changes, before) {
    Object.assign(region, changes, { error: "" });
    if (region.source === "suggestion") region.draft = true;
    this.screen.redraw(region);
    if (region.source === "suggestion" || !region.id && !region.busy) return;
    void this.saver.change(region, changes, before);
  }
  /** Take a region off the screen (deleted, refused, an abandoned drawing). */
  drop(region) {
    this.regions = this.regions.filter((r) => r !== region);
    if (this.selected === region) this.selected = null;
    this.screen.dropped(region);
    this.screen.relayout();
  }
  /** Put back a region taken off the screen by a change the server refused, or by an undo. */
  restore(region) {
    if (!this.regions.includes(region)) this.regions = [...this.regions, region].sort((a, b) => a.start - b.start || a.key - b.key);
    this.screen.relayout();
  }
  delete(region) {
    this.drop(region);
    void this.saver.remove(region);
  }
  recreate(region) {
    Object.assign(region, { id: null, version: null, error: "" });
    this.restore(region);
    void this.saver.create(region);
  }
  remove(region) {
    if (!this.editable(region)) return;
    this.delete(region);
    this.history.record({ what: "deletion", undo: () => this.recreate(region), redo: () => this.delete(region) });
  }
  /** Accept or reject a suggestion; Ctrl+Z brings it back as it was suggested (src/saving.ts `unreview`). */
  review(region, verdict) {
    if (region.source !== "suggestion" || !region.id) {
      this.screen.say("A and R accept or reject a machine suggestion; this is a person's annotation.");
      return;
    }
    const [suggested, origin] = [region.suggested, region.origin];
    const taking = { start: region.start, end: region.end, tags: [...region.tags], text: region.text };
    void this.decide(region, verdict).then((taken) => {
      if (!taken || !suggested) return;
      this.history.record({
        what: verdict === "accept" ? "acceptance" : "rejection",
        undo: () => void this.saver.unreview(region, suggested, origin, verdict === "accept"),
        redo: () => {
          Object.assign(region, taking, { tags: [...taking.tags] });
          void this.decide(region, verdict);
        }
      });
    });
  }
  /** Send a verdict on a suggestion; whether it was taken. */
  decide(region, verdict) {
    if (verdict === "reject") this.drop(region);
    return this.saver.review(region, verdict).then((taken) => {
      if (taken) this.screen.relayout();
      else this.screen.redraw(region);
      return taken;
    });
  }
  /** Add `tag` to the selected region, or take it off (`on`: only add). The first tag of a new drawing stores it.
   * Whether a region took the tag. */
  label(tag, on = false) {
    const region = this.selected;
    if (!region) return false;
    if (on && region.tags.includes(tag)) return true;
    if (untagged(region)) {
      region.tags = [tag];
      this.screen.say("");
      this.screen.redraw(region);
      this.store(region);
      return true;
    }
    const tags = toggleTag(region.tags, tag);
    if (!tags.length && !region.text) {
      this.screen.say("A region needs at least one tag or a text: add another before taking this one off.");
      return true;
    }
    this.change(region, { tags });
    return true;
  }
  /** Drop the selected region if it is a drawing still waiting for its first tag (Esc in the tag box). */
  dropUntagged() {
    if (!this.selected || !untagged(this.selected)) return;
    this.select(null);
    this.screen.say("");
  }
  undo(redo) {
    const step = redo ? this.history.redo() : this.history.undo();
    this.screen.say(step ? `${redo ? "Redone" : "Undone"}: ${step.what}.` : `Nothing to ${redo ? "redo" : "undo"}.`);
  }
};
function untagged(region) {
  return !region.id && !region.busy && !region.tags.length;
}

// src/gestures.ts
var DRAG_PIXELS = 4;
function pinchOf(before, after) {
  const was = Math.max(1, Math.abs(before[0] - before[1]));
  const now = Math.max(1, Math.abs(after[0] - after[1]));
  return { factor: was / now, centre: (after[0] + after[1]) / 2 };
}
var Gestures = class {
  // pointer id -> client x, while pressed
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    box.addEventListener("pointerdown", (e) => this.press(e));
    box.addEventListener("pointermove", (e) => this.drag(e));
    box.addEventListener("pointerup", (e) => this.release(e));
    box.addEventListener("pointercancel", (e) => this.cancel(e));
  }
  box;
  hooks;
  gesture = null;
  touches = /* @__PURE__ */ new Map();
  press(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.hooks.focus();
    this.touches.set(event.pointerId, event.clientX);
    if (this.touches.size > 1) return this.abandon();
    this.box.setPointerCapture?.(event.pointerId);
    const region = this.hooks.regionAt(event.target);
    const from = this.hooks.timeAt(event.clientX);
    const bar = region && this.hooks.edgeBox(region);
    const kind = region && bar ? gripAt(event.clientX - bar.left, bar.width) : "draw";
    this.gesture = { kind, x: event.clientX, from, region, was: region ? { start: region.start, end: region.end } : { start: from, end: from }, moved: false };
  }
  drag(event) {
    if (this.touches.size > 1 && this.touches.has(event.pointerId)) return this.pinch(event);
    const gesture = this.gesture;
    if (!gesture) return;
    if (!gesture.moved && Math.abs(event.clientX - gesture.x) < DRAG_PIXELS) return;
    if (gesture.kind === "draw") {
      const [a, b] = [gesture.from, this.hooks.timeAt(event.clientX)].map(toMillisecond).sort((p, q) => p - q);
      gesture.region = this.hooks.draw(a, b, gesture);
    } else {
      const region = gesture.region;
      if (!gesture.moved && !this.hooks.mayChange(region)) {
        this.gesture = null;
        return;
      }
      const delta = (event.clientX - gesture.x) * this.hooks.secondsPerPixel();
      Object.assign(region, dragged(gesture.kind, gesture.was, delta, this.hooks.duration()));
    }
    gesture.moved = true;
    this.hooks.shown(gesture.region);
  }
  pinch(event) {
    const [a, b] = [...this.touches.keys()];
    const before = [this.touches.get(a), this.touches.get(b)];
    this.touches.set(event.pointerId, event.clientX);
    const { factor, centre } = pinchOf(before, [this.touches.get(a), this.touches.get(b)]);
    if (Math.abs(factor - 1) > 1e-3) this.hooks.pinch(factor, centre);
  }
  release(event) {
    this.touches.delete(event.pointerId);
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    if (!gesture.moved) return this.hooks.click(gesture.kind === "draw" ? null : gesture.region, event.clientX);
    if (gesture.region) this.hooks.done(gesture);
  }
  cancel(event) {
    this.touches.delete(event.pointerId);
    this.abandon();
  }
  /** Undo what an unfinished drag showed (a second finger, a cancelled pointer). */
  abandon() {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture?.region || !gesture.moved) return;
    if (gesture.kind !== "draw") Object.assign(gesture.region, gesture.was);
    this.hooks.abandoned(gesture);
  }
};

// src/keys.ts
var PLAIN = {
  i: "zoom-in",
  o: "zoom-out",
  arrowleft: "left",
  arrowright: "right",
  " ": "play",
  l: "loop",
  escape: "deselect",
  delete: "delete",
  backspace: "delete",
  enter: "text",
  a: "accept",
  r: "reject",
  "[": "mark-start",
  "]": "mark-end",
  d: "done",
  g: "take"
  // D: this sound is done (an assigned sound); G: take the chosen regions into gold (review)
};
function commandOf(press) {
  const key = press.key.toLowerCase();
  if (press.ctrlKey || press.metaKey) {
    if (key === "z") return press.shiftKey ? "redo" : "undo";
    if (key === "y" && !press.shiftKey) return "redo";
    return null;
  }
  if (press.altKey) return null;
  if (/^[1-9]$/.test(key)) return { tag: Number(key) - 1 };
  return PLAIN[key] ?? null;
}
function typesItself(tag, editable) {
  return editable || ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(tag.toUpperCase());
}
function takesKeys(where) {
  if (where.onBox) return true;
  if (where.targetTypes) return false;
  return where.pointerOver || where.onlyOne;
}

// src/lanes.ts
var MAX_LANES = { human: 8, suggestion: 4 };
function stack(regions, limit, offset, into) {
  const ends = [];
  for (const region of [...regions].sort((a, b) => a.start - b.start || a.key - b.key)) {
    let row = ends.findIndex((end) => end <= region.start);
    if (row < 0) row = ends.length < limit ? ends.length : limit - 1;
    ends[row] = Math.max(ends[row] ?? 0, region.end);
    into.set(region.key, offset + row);
  }
  return ends.length;
}
function layoutLanes(regions) {
  const lane = /* @__PURE__ */ new Map();
  const people = regions.filter((r) => r.source !== "suggestion");
  const machine = regions.filter((r) => r.source === "suggestion");
  const humanRows = Math.max(1, stack(people, MAX_LANES.human, 0, lane));
  const rows = humanRows + stack(machine, MAX_LANES.suggestion, humanRows, lane);
  return { lane, rows, humanRows };
}
function place(layout, region, regions) {
  const suggestion = region.source === "suggestion";
  const first = suggestion ? layout.humanRows : 0;
  const count = suggestion ? layout.rows - layout.humanRows : layout.humanRows;
  const taken = /* @__PURE__ */ new Set();
  for (const other of regions) {
    if (other === region || other.source === "suggestion" !== suggestion) continue;
    if (other.start < region.end && other.end > region.start) taken.add(layout.lane.get(other.key) ?? -1);
  }
  let row = first;
  while (row < first + count && taken.has(row)) row++;
  const limit = suggestion ? MAX_LANES.suggestion : MAX_LANES.human;
  if (row === first + count) {
    if (count >= limit) row = first + count - 1;
    else if (!suggestion) {
      for (const other of regions) if (other.source === "suggestion") layout.lane.set(other.key, (layout.lane.get(other.key) ?? 0) + 1);
      layout.humanRows++;
      layout.rows++;
    } else layout.rows++;
  }
  layout.lane.set(region.key, row);
}

// src/palette.ts
var Palette = class {
  /** The tag box is made once and kept: redrawing the chips (a page run, a tag kept) never takes what is being
   * typed, or the focus, away from it. */
  constructor(box, host) {
    this.host = host;
    this.input.addEventListener("keydown", (event) => this.key(event));
    box.replaceChildren(this.chips, this.input);
  }
  host;
  current = null;
  // the tag new regions get
  extra = [];
  // typed here, not yet in the page's data
  chips = element("span", { class: "chips" });
  input = element("input", { class: "new-tag", placeholder: "new tag ↵", "aria-label": "New tag", maxlength: "100" });
  given = [];
  /** The palette's tags: the page's (in the order people made them), then those typed here. */
  tags(given) {
    return [...given, ...this.extra.filter((t) => !given.includes(t))];
  }
  /** Keep the current tag one of `tags` (the first, if it is gone), and draw the buttons. */
  draw(given) {
    this.given = given;
    const tags = this.tags(given);
    if (!this.current || !tags.includes(this.current)) this.current = tags[0] ?? null;
    const buttons = tags.map((tag, i) => {
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
      button.style.setProperty("--tag-color", this.host.color(tag));
      button.addEventListener("click", () => this.host.clicked(tag));
      return button;
    });
    this.chips.replaceChildren(...buttons);
  }
  /** The tag box takes the cursor (a new region waits for its first tag). */
  focus() {
    this.input.focus();
  }
  key(event) {
    const [typed, given] = [this.input, this.given];
    event.stopPropagation();
    if (event.key === "Escape") return this.host.escaped();
    if (event.key !== "Enter") return;
    const tag = cleanTag(typed.value);
    if (!tag) return;
    if (/[;,]/.test(tag)) return this.host.say("A tag must not contain ';' or ','.");
    if (!this.tags(given).includes(tag)) this.extra.push(tag);
    typed.value = "";
    this.host.typed(tag);
  }
  forget() {
    this.extra = [];
  }
};
function element(tag, attributes = {}, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.textContent = text;
  return made;
}

// src/review.ts
var MATCH_IOU = 0.5;
function iou(a, b) {
  const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (overlap <= 0) return 0;
  return overlap / (Math.max(a.end, b.end) - Math.min(a.start, b.start));
}
function groupOf(region) {
  if (region.gold) return "gold";
  if (region.source === "suggestion") return "suggestion";
  return `person:${region.author}`;
}
function layoutReview(regions, people) {
  const byGroup = /* @__PURE__ */ new Map();
  for (const region of regions) {
    const group = groupOf(region);
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)?.push(region);
  }
  const named = new Set(people.map((p) => p.id));
  const unnamed = [...byGroup.keys()].filter((g) => g.startsWith("person:") && !named.has(g.slice(7))).map((g) => ({ id: g.slice(7), name: g.slice(7) || "someone" }));
  const lane = /* @__PURE__ */ new Map();
  const groups = [];
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
function matches(a, b) {
  if (iou(a, b) < MATCH_IOU) return false;
  if (!a.tags.length && !b.tags.length) return true;
  return a.tags.some((t) => b.tags.includes(t));
}
function disagreements(regions) {
  const byPerson = /* @__PURE__ */ new Map();
  for (const region of regions) {
    if (region.gold || region.source === "suggestion") continue;
    if (!byPerson.has(region.author)) byPerson.set(region.author, []);
    byPerson.get(region.author)?.push(region);
  }
  for (const list of byPerson.values()) list.sort((a, b) => a.start - b.start);
  const marked = /* @__PURE__ */ new Set();
  for (const [author, own] of byPerson) {
    for (const [other, theirs] of byPerson) {
      if (other === author) continue;
      for (const region of own) if (!hasMatch(region, theirs)) marked.add(region.key);
    }
  }
  return marked;
}
function hasMatch(region, sorted) {
  const from = region.start - (region.end - region.start);
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = lo + hi >> 1;
    if (sorted[mid].start < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sorted.length && sorted[i].start < region.end; i++) if (matches(region, sorted[i])) return true;
  return false;
}
function takeRequest(regions) {
  const ids = regions.filter((r) => r.id && !r.gold && r.source !== "suggestion").sort((a, b) => a.start - b.start).map((r) => r.id);
  return { ids };
}

// src/layer.ts
var MIN_ELEMENT_PIXELS = 4;
var MAX_ELEMENTS = 400;
function splitRegions(regions, view, width, keep = /* @__PURE__ */ new Set()) {
  const elements = [];
  const painted = [];
  for (const region of regions) {
    if (!(region.end > view.start && region.start < view.end)) continue;
    const pixels = (fractionOf(view, region.end) - fractionOf(view, region.start)) * width;
    const wide = pixels >= MIN_ELEMENT_PIXELS && elements.length < MAX_ELEMENTS;
    if (wide || keep.has(region)) elements.push(region);
    else painted.push(region);
  }
  return { elements, painted };
}
var DISAGREE_COLOR = "#d0021b";
var WAVE_HEIGHT = 120;
var LANE_HEIGHT = 22;
var RegionLayer = class {
  constructor(box, bars, shade, lanes, host) {
    this.box = box;
    this.bars = bars;
    this.shade = shade;
    this.lanes = lanes;
    this.host = host;
    this.labels = element("div", { class: "lane-labels", "data-testid": "earmark-lane-labels" });
    this.box.append(this.labels);
  }
  box;
  bars;
  shade;
  lanes;
  host;
  layout = { lane: /* @__PURE__ */ new Map(), rows: 1, humanRows: 1 };
  groups = [];
  // review: the labelled bands of lanes
  disagree = /* @__PURE__ */ new Set();
  // review: keys of regions another person has no match for
  elements = /* @__PURE__ */ new Map();
  labels;
  /** Lanes anew (the page's data came, regions went), then everything drawn. In review, each person's band, the
   * gold band and the suggestions' (src/review.ts), and which regions disagree. */
  relayout() {
    const people = this.host.review();
    const regions = this.host.regions();
    if (people) {
      const layout = layoutReview(regions, people);
      [this.layout, this.groups, this.disagree] = [layout, layout.groups, disagreements(regions)];
    } else [this.layout, this.groups, this.disagree] = [layoutLanes(regions), [], /* @__PURE__ */ new Set()];
    this.fit();
    this.label();
    this.drawAll();
  }
  /** The bands' names at their left edge, as ELAN names its tiers. */
  label() {
    this.labels.replaceChildren(...this.groups.map((group) => {
      const made = element("span", { class: `lane-label ${group.kind}`, "data-author": group.author }, group.label);
      made.style.top = `${WAVE_HEIGHT + group.first * LANE_HEIGHT}px`;
      return made;
    }));
  }
  /** One region drawn, moved or resized: a lane for it alone (src/lanes.ts `place`), the rest left where they are.
   * In review the bands are laid out again (a few people's hundreds of regions: well within a frame). */
  reposition(region) {
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
  fit() {
    this.box.style.height = `${WAVE_HEIGHT + this.layout.rows * LANE_HEIGHT}px`;
    this.box.dataset.lanes = String(this.layout.rows);
  }
  /** Elements for the regions in view wide enough to grab (and the selected and dragged ones), the rest painted. */
  drawAll() {
    const keep = new Set([this.host.selected(), this.host.dragged()].filter(Boolean));
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
  width() {
    return this.box.clientWidth || 800;
  }
  /** Paint the canvases before the next frame, once however many changes ask for it meanwhile (a mouse-up among
   * 10,000 regions redraws a bar, selects it and saves it: one paint). */
  paint() {
    if (this.painting) return;
    this.painting = true;
    requestAnimationFrame(() => {
      this.painting = false;
      this.paintNow();
    });
  }
  painting = false;
  /** The canvases: people's regions (and the selected one) tinted over the waveform; the lanes, with the regions
   * that have no element of their own painted in theirs. */
  paintNow() {
    const [view, width, rows] = [this.host.view(), this.width(), this.layout.rows];
    const inView = this.host.regions().filter((r) => r.end > view.start && r.start < view.end);
    const span = (r) => ({
      start: r.start,
      end: r.end,
      color: this.host.color(r.tags[0]),
      row: this.layout.lane.get(r.key) ?? 0,
      dashed: r.source === "suggestion"
    });
    const tint = prepare(this.shade, width, WAVE_HEIGHT);
    paintSpans(tint, inView.filter((r) => r.source !== "suggestion").map(span), view, width, WAVE_HEIGHT, 0, 0.14);
    const [selected, mark] = [this.host.selected(), this.host.mark()];
    if (selected) paintSpans(tint, [span(selected)], view, width, WAVE_HEIGHT, 0, 0.22);
    if (mark !== null) paintSpans(tint, [{ start: mark, end: mark, color: "#d33", row: 0, dashed: false }], view, width, WAVE_HEIGHT, 0, 0.9);
    const lanes = prepare(this.lanes, width, rows * LANE_HEIGHT);
    lanes.fillStyle = "rgba(120, 120, 140, 0.10)";
    lanes.fillRect(0, this.layout.humanRows * LANE_HEIGHT, width, (rows - this.layout.humanRows) * LANE_HEIGHT);
    lanes.fillStyle = "rgba(0, 0, 0, 0.12)";
    for (let row = 1; row < rows; row++) lanes.fillRect(0, row * LANE_HEIGHT, width, 1);
    paintSpans(lanes, inView.filter((r) => !this.elements.has(r.key)).map(span), view, width, rows * LANE_HEIGHT, LANE_HEIGHT, 0.8);
    if (this.groups.length) this.paintReview(tint, lanes, inView, width, span);
  }
  /** Review: the gold band tinted, and each region no other person matches marked in red, along the foot of its
   * lane and as a band along the top of the waveform, so where people disagree shows at any zoom. */
  paintReview(tint, lanes, inView, width, span) {
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
  draw(region, create = false) {
    const view = this.host.view();
    const keep = create || region === this.host.selected() || region === this.host.dragged();
    const made = this.elements.get(region.key);
    const visible = this.host.regions().includes(region) && region.end > view.start && region.start < view.end;
    if (!visible) {
      made?.remove();
      this.elements.delete(region.key);
      return;
    }
    if (!made && !keep) return;
    this.show(region, view);
  }
  /** The bar of a region known to be in the list and in the view (made if it has none): what drawAll calls for
   * each of up to MAX_ELEMENTS regions, without looking the region up among all of them again. */
  show(region, view) {
    let made = this.elements.get(region.key);
    if (!made) {
      made = element("div", { "data-testid": "earmark-region" });
      made.append(element("span"));
      this.elements.set(region.key, made);
      this.bars.append(made);
    }
    this.fill(made, region, view);
  }
  fill(made, region, view) {
    const suggestion = region.source === "suggestion";
    const lane = this.layout.lane.get(region.key) ?? 0;
    Object.assign(made.dataset, {
      key: String(region.key),
      id: region.id ?? "",
      start: String(region.start),
      end: String(region.end),
      tags: region.tags.join(";"),
      source: region.source,
      text: region.text,
      lane: String(lane),
      saved: region.id && !region.busy && !region.draft ? "true" : "false",
      error: region.error,
      author: region.author
    });
    made.className = [
      "region",
      region.source,
      region === this.host.selected() ? "selected" : "",
      region.error ? "refused" : "",
      region.mine || suggestion ? "" : "others",
      region.gold ? "gold" : "",
      this.disagree.has(region.key) ? "disagree" : "",
      this.host.chosen().has(region.key) ? "chosen" : ""
    ].filter(Boolean).join(" ");
    made.title = region.error || (suggestion ? `Suggested by ${region.bot}: A accepts, R rejects` : region.text);
    made.style.setProperty("--tag-color", this.host.color(region.tags[0]));
    const left = Math.max(0, fractionOf(view, region.start));
    const right = Math.min(1, fractionOf(view, region.end));
    made.style.left = `${left * 100}%`;
    made.style.width = `${(right - left) * 100}%`;
    made.style.top = `${WAVE_HEIGHT + lane * LANE_HEIGHT}px`;
    const label = (suggestion ? "? " : "") + (region.tags.join(", ") || "(no tag yet)") + (region.text ? ` “${region.text}”` : "") + (suggestion ? ` · ${region.bot}` : "");
    made.firstChild.textContent = region.error ? `⚠ ${label}` : label;
  }
  /** The region whose bar `target` is (or is inside), if any. */
  regionAt(target) {
    const found = target?.closest?.("[data-testid=earmark-region]");
    if (!found) return null;
    return this.host.regions().find((r) => String(r.key) === found.dataset.key) ?? null;
  }
  /** Where the region's bar is on screen (null: it has none). */
  bar(region) {
    return this.elements.get(region.key)?.getBoundingClientRect() ?? null;
  }
};

// src/overview.ts
var Overview = class {
  constructor(strip, api, moveTo, listen) {
    this.strip = strip;
    this.api = api;
    this.moveTo = moveTo;
    listen(strip, "pointerdown", (e) => {
      this.steering = true;
      strip.setPointerCapture?.(e.pointerId);
      this.steer(e);
      e.preventDefault();
    });
    listen(strip, "pointermove", (e) => {
      if (this.steering) this.steer(e);
    });
    listen(strip, "pointerup", () => {
      this.steering = false;
    });
  }
  strip;
  api;
  moveTo;
  steering = false;
  duration = 0;
  /** The whole sound's peaks (two points per pixel), drawn once per sound and width. */
  async load(soundId, duration, query) {
    this.duration = duration;
    const width = Math.max(10, Math.min(2500, Math.round(this.strip.clientWidth || 800)));
    const line = await this.api.call("GET", `/sounds/${soundId}/peaks?${query(0, duration, 2 * width)}`);
    plot(
      this.strip.querySelector("canvas"),
      this.strip.clientWidth,
      this.strip.clientHeight,
      line,
      { start: 0, end: duration }
    );
    this.strip.dataset.ready = "true";
  }
  /** Where the view lies on the whole sound. */
  place(view, duration) {
    const whole = { start: 0, end: duration };
    const frame = this.strip.querySelector(".window");
    frame.style.left = `${fractionOf(whole, view.start) * 100}%`;
    frame.style.width = `${Math.max(0.3, (fractionOf(whole, view.end) - fractionOf(whole, view.start)) * 100)}%`;
  }
  steer(event) {
    if (!this.duration) return;
    const rect = this.strip.getBoundingClientRect();
    this.moveTo(timeAt({ start: 0, end: this.duration }, (event.clientX - rect.left) / rect.width));
  }
};
function drawRuler(ruler, view, width) {
  const { step, times } = ticks(view, width || 800);
  ruler.replaceChildren(...times.map((t) => {
    const mark = element("span", {}, timeLabel(t, step));
    mark.style.left = `${fractionOf(view, t) * 100}%`;
    return mark;
  }));
}

// src/playback.ts
var RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
function looped(now, loop) {
  if (loop && (now >= loop.end || now < loop.start - 0.25)) return loop.start;
  return now;
}
var Playback = class {
  constructor(audio, button, hooks) {
    this.audio = audio;
    this.hooks = hooks;
    audio.addEventListener("play", () => {
      button.textContent = "‖ Pause";
      this.follow();
    });
    audio.addEventListener("pause", () => {
      button.textContent = "▶ Play";
    });
  }
  audio;
  hooks;
  cursor = 0;
  // where playing starts (a click on the waveform, or where it was paused)
  loop = null;
  get playing() {
    return !this.audio.paused;
  }
  /** Where the playhead is: the audio's time while playing, else the cursor. */
  get now() {
    return this.audio.paused ? this.cursor : this.audio.currentTime;
  }
  load(url) {
    this.audio.src = url;
    this.cursor = 0;
    this.loop = null;
  }
  toggle() {
    if (this.audio.paused) {
      this.audio.currentTime = this.cursor;
      this.audio.play().catch((error) => this.hooks.say(`Cannot play: ${error.message}`));
    } else {
      this.cursor = this.audio.currentTime;
      this.audio.pause();
    }
  }
  /** Loop [start, end) from its start (null: stop looping, keep playing). */
  setLoop(loop) {
    this.loop = loop;
    if (!loop) return;
    this.cursor = loop.start;
    if (this.audio.paused) this.toggle();
    else this.audio.currentTime = loop.start;
  }
  seek(time) {
    this.cursor = time;
    if (!this.audio.paused) this.audio.currentTime = time;
    this.hooks.at(time);
  }
  set rate(rate) {
    this.audio.playbackRate = rate;
  }
  stop() {
    this.audio.pause();
    this.audio.removeAttribute("src");
  }
  follow() {
    const step = () => {
      if (this.audio.paused) return;
      const now = looped(this.audio.currentTime, this.loop);
      if (now !== this.audio.currentTime) this.audio.currentTime = now;
      this.hooks.at(now);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }
};

// src/saving.ts
function gone(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 409);
}
function changeBody(changes) {
  const body = {};
  if ("start" in changes) body.start_seconds = changes.start;
  if ("end" in changes) body.end_seconds = changes.end;
  if ("tags" in changes) body.tags = changes.tags;
  if ("text" in changes) body.text = changes.text;
  return body;
}
var Saver = class {
  constructor(api, hooks, sound) {
    this.api = api;
    this.hooks = hooks;
    this.sound = sound;
  }
  api;
  hooks;
  sound;
  /** Ids deleted or reviewed here: a page run older than the deletion must not bring them back. */
  deleted = /* @__PURE__ */ new Set();
  chains = /* @__PURE__ */ new Map();
  /** Whether anything is still being saved (the page waits before it catches up). */
  get busy() {
    return this.chains.size > 0;
  }
  /** Run `job` after the region's earlier changes are answered, so each is sent with the version the last gave. */
  queue(region, job) {
    region.busy++;
    this.hooks.redraw(region);
    const next = (this.chains.get(region.key) ?? Promise.resolve()).then(job).finally(() => {
      region.busy--;
      if (!region.busy) this.chains.delete(region.key);
      this.hooks.redraw(region);
    });
    this.chains.set(region.key, next);
    return next;
  }
  refused(region, what, error) {
    region.error = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    this.hooks.say(region.error);
  }
  done() {
    this.hooks.say("");
    this.hooks.saved();
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
  /** Store a region drawn here (or brought back by an undo): it gets an id and a version. */
  create(region) {
    return this.queue(region, async () => {
      const { id, channel } = this.sound();
      try {
        this.adopt(region, await this.api.call(
          "POST",
          `/sounds/${id}/annotations`,
          {
            start_seconds: region.start,
            end_seconds: region.end,
            tags: region.tags,
            text: region.text || null,
            channel,
            ...region.gold ? { is_gold: true } : {}
          }
        ));
        region.local = true;
        this.done();
      } catch (error) {
        this.hooks.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }
  /** Send `changes` already shown on `region` (`before`: what it showed until then, put back on a refusal). */
  change(region, changes, before) {
    const body = changeBody(changes);
    return this.queue(region, async () => {
      if (!region.id) return;
      try {
        this.adopt(region, await this.api.call("PATCH", `/annotations/${region.id}`, { ...body, version: region.version }));
        this.done();
      } catch (error) {
        Object.assign(region, before);
        if (error instanceof ApiError && error.status === 409) await this.reload(region);
        if (error instanceof ApiError && error.status === 404) this.hooks.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }
  /** After a 409: show the annotation as someone else stored it (or drop it if they deleted it). */
  async reload(region) {
    try {
      this.adopt(region, await this.api.call("GET", `/annotations/${region.id}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.hooks.drop(region);
    }
  }
  /** Delete a region already taken off the screen (after its creation, if that is still on its way). */
  remove(region) {
    if (region.id) this.deleted.add(region.id);
    return this.queue(region, async () => {
      const id = region.id;
      if (!id) return;
      this.deleted.add(id);
      try {
        await this.api.call("DELETE", `/annotations/${id}`);
        region.id = null;
        this.done();
      } catch (error) {
        if (gone(error)) return this.hooks.say(`Already gone: ${error.message}`);
        this.deleted.delete(id);
        this.hooks.restore(region);
        this.refused(region, "Not deleted", error);
      }
    });
  }
  /** Accept (it becomes this person's annotation, with what was changed on it here) or reject a suggestion. */
  review(region, verdict) {
    const id = region.id;
    if (verdict === "reject") this.deleted.add(id);
    let taken = false;
    return this.queue(region, async () => {
      try {
        if (verdict === "accept") {
          const stored = await this.api.call(
            "POST",
            `/annotations/${id}/accept`,
            { start_seconds: region.start, end_seconds: region.end, tags: region.tags, text: region.text }
          );
          this.deleted.add(id);
          this.adopt(region, stored);
          Object.assign(region, { source: "human", bot: "", mine: true, draft: false, local: true });
        } else {
          await this.api.call("POST", `/annotations/${id}/reject`);
        }
        taken = true;
        this.done();
      } catch (error) {
        const what = verdict === "accept" ? "Not accepted" : "Not rejected";
        if (gone(error)) {
          this.deleted.add(id);
          this.hooks.drop(region);
          return this.hooks.say(`${what}: ${error.message}`);
        }
        if (verdict === "reject") {
          this.deleted.delete(id);
          this.hooks.restore(region);
        }
        this.refused(region, what, error);
      }
    }).then(() => taken);
  }
  /** Undo this person's review of a suggestion: it is suggested again as `suggested` says (and the annotation its
   * acceptance made, `region` itself then, is deleted by the server on the way). */
  unreview(region, suggested, origin, accepted) {
    return this.queue(region, async () => {
      const acceptedId = accepted ? region.id : null;
      try {
        const stored = await this.api.call("POST", `/sounds/${this.sound().id}/suggestions`, {
          source: origin,
          start_seconds: suggested.start,
          end_seconds: suggested.end,
          tags: suggested.tags,
          text: suggested.text || null,
          accepted_id: acceptedId
        });
        if (acceptedId) this.deleted.add(acceptedId);
        this.adopt(region, stored);
        Object.assign(region, {
          source: "suggestion",
          bot: origin.split(":")[0],
          mine: false,
          draft: false,
          local: true,
          origin,
          suggested: { ...suggested, tags: [...suggested.tags] }
        });
        this.hooks.restore(region);
        this.done();
      } catch (error) {
        this.refused(region, "Not undone", error);
      }
    });
  }
};

// src/spectrogram.ts
function pictureRequest(soundId, view, channel, maxSeconds) {
  if (view.end - view.start > maxSeconds) return { note: `Zoom in to ${maxSeconds} s or less to see the spectrogram.` };
  const query = new URLSearchParams({ start: view.start.toFixed(4), end: view.end.toFixed(4) });
  if (channel !== null && channel !== void 0) query.set("channel", String(channel));
  return { path: `/sounds/${soundId}/spectrogram?${query}` };
}
var Spectrogram = class {
  constructor(picture, note, api, say) {
    this.picture = picture;
    this.note = note;
    this.api = api;
    this.say = say;
  }
  picture;
  note;
  api;
  say;
  on = false;
  request = null;
  /** Show the picture of `view` (or the note, or nothing when switched off); a newer view cancels an older one. */
  async show(soundId, view, channel, maxSeconds) {
    this.request?.abort();
    this.picture.hidden = this.note.hidden = true;
    if (!this.on) return;
    const wanted = pictureRequest(soundId, view, channel, maxSeconds);
    if ("note" in wanted) {
      this.note.textContent = wanted.note;
      this.note.hidden = false;
      return;
    }
    const controller = this.request = new AbortController();
    try {
      const image = await this.api.blob(wanted.path, controller.signal);
      if (controller !== this.request) return;
      const old = this.picture.src;
      this.picture.src = URL.createObjectURL(image);
      this.picture.dataset.viewStart = view.start.toFixed(4);
      this.picture.dataset.viewEnd = view.end.toFixed(4);
      this.picture.hidden = false;
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    } catch (error) {
      if (error.name !== "AbortError") this.say(`The spectrogram could not be loaded: ${error.message}`);
    }
  }
  stop() {
    this.request?.abort();
    if (this.picture.src.startsWith("blob:")) URL.revokeObjectURL(this.picture.src);
  }
};

// src/waveform.ts
var CATCH_UP_MS = 2e3;
var live = /* @__PURE__ */ new Set();
var Waveform = class {
  constructor(root, rerun) {
    this.root = root;
    this.rerun = rerun;
    this.find = (selector) => root.querySelector(selector);
    this.box = this.find("[data-testid=earmark-waveform]");
    this.wave = this.find("canvas.wave");
    this.playhead = this.find("[data-testid=earmark-playhead]");
    this.status = this.find(".status");
    this.textBox = this.find(".text-editor");
    this.clockText = this.find(".clock");
    this.ruler = this.find(".ruler");
    this.saver = new Saver(this.api, {
      redraw: (r) => this.layer.draw(r),
      drop: (r) => this.editor.drop(r),
      restore: (r) => this.editor.restore(r),
      say: (m) => this.say(m),
      saved: () => this.saved()
    }, () => ({ id: this.data.sound_id, channel: this.data.channel ?? null }));
    this.layer = new RegionLayer(this.box, this.find(".regions"), this.find("canvas.shade"), this.find("canvas.lanes"), {
      regions: () => this.editor.regions,
      selected: () => this.editor.selected,
      dragged: () => this.gestures?.gesture?.region ?? null,
      view: () => this.view,
      color: (tag) => this.color(tag),
      mark: () => this.mark,
      review: () => this.data?.review ?? null,
      chosen: () => this.chosen
    });
    this.actions = element("div", { class: "review-actions", "data-testid": "earmark-review-actions", hidden: "" });
    this.find(".palette").before(this.actions);
    this.editor = new Editor(this.saver, {
      relayout: () => this.layer.relayout(),
      reposition: (r) => this.layer.reposition(r),
      redraw: (r) => {
        this.layer.draw(r);
        this.layer.paint();
      },
      askTag: () => this.palette.focus(),
      dropped: (r) => {
        if (this.playback.loop === r) this.playback.loop = null;
      },
      say: (m) => this.say(m)
    });
    this.palette = new Palette(this.find(".palette"), {
      color: (tag) => this.color(tag),
      say: (m) => this.say(m),
      clicked: (tag) => {
        if (!this.editor.label(tag)) this.choose(tag);
      },
      typed: (tag) => this.typedTag(tag),
      escaped: () => {
        this.editor.dropUntagged();
        this.box.focus();
      }
    });
    this.playback = new Playback(this.find("audio"), this.find(".play"), { at: (t) => this.follow(t), say: (m) => this.say(m) });
    this.spectrogram = new Spectrogram(this.find(".spectrogram"), this.find(".spectrogram-note"), this.api, (m) => this.say(m));
    this.overview = new Overview(
      this.find("[data-testid=earmark-overview]"),
      this.api,
      (at) => this.centreOn(at),
      (target, type, handler) => this.on(target, type, handler)
    );
    this.gestures = new Gestures(this.box, {
      regionAt: (t) => this.layer.regionAt(t),
      edgeBox: (r) => this.layer.bar(r),
      timeAt: (x) => this.timeAtX(x),
      secondsPerPixel: () => this.secondsPerPixel(),
      duration: () => this.data.duration,
      mayChange: (r) => this.editor.editable(r),
      draw: (a, b, g) => this.drawing(a, b, g),
      shown: (r) => {
        this.layer.draw(r);
        this.layer.paint();
      },
      done: (g) => this.released(g),
      click: (r, x) => this.clicked(r, x),
      abandoned: (g) => this.abandoned(g),
      pinch: (f, x) => this.zoom(f, this.timeAtX(x)),
      focus: () => this.box.focus({ preventScroll: true })
    });
    this.buildToolbar();
    this.listen();
    live.add(this);
  }
  root;
  rerun;
  find;
  box;
  wave;
  // the peaks line
  playhead;
  status;
  textBox;
  clockText;
  ruler;
  cleanups = [];
  api = new Api("", "");
  saver;
  editor;
  layer;
  palette;
  overview;
  gestures;
  playback;
  spectrogram;
  data;
  view = { start: 0, end: 0 };
  pending = null;
  pointerOver = false;
  pointer = null;
  // the time under the pointer, while it is over the waveform
  mark = null;
  // a start marked with [ at the playhead, waiting for ]
  tokenAt = 0;
  // when the page's current token arrived
  renewing = false;
  catchUp = 0;
  // the timer that asks the page to catch up with changes saved here
  firstView = false;
  chosen = /* @__PURE__ */ new Set();
  // review: regions chosen to take into gold
  actions;
  // review: the "take into gold" buttons
  clock = new ActiveClock(Date.now());
  /** Listen to `target` until the component is unmounted. */
  on(target, type, handler, options) {
    target.addEventListener(type, handler, options);
    this.cleanups.push(() => target.removeEventListener(type, handler, options));
  }
  /** Everything registered outside the component's own elements, so that unmounting leaves nothing running. */
  listen() {
    this.on(window, "keydown", (e) => this.key(e), { capture: true });
    this.on(this.box, "pointerenter", () => {
      this.pointerOver = true;
    });
    this.on(this.box, "pointerleave", () => {
      this.pointerOver = false;
      this.pointer = null;
    });
    this.on(this.box, "pointermove", (e) => this.hover(e));
    this.on(this.box, "wheel", (e) => this.wheel(e), { passive: false });
    this.on(this.textBox, "keydown", (e) => this.textKey(e));
    const resize = new ResizeObserver(() => this.resized());
    resize.observe(this.box);
    this.cleanups.push(() => resize.disconnect());
    const timer = window.setInterval(() => this.renewToken(), 3e4);
    this.cleanups.push(() => window.clearInterval(timer));
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel"]) {
      this.on(this.root, type, () => this.clock.touch(Date.now()), { passive: true });
    }
    const ticks2 = window.setInterval(() => this.tick(), 1e3);
    this.cleanups.push(() => window.clearInterval(ticks2));
    this.on(document, "visibilitychange", () => {
      if (document.visibilityState === "hidden") this.leaveSound();
    });
    this.on(window, "pagehide", () => this.leaveSound());
  }
  /** The page's width changed: the views again at the new width. The observer also reports the first size, which
   * the views asked for on the first data already used: those are not asked for twice. */
  resized() {
    const width = this.box.clientWidth;
    if (!this.data || width === this.width) return;
    this.width = width;
    drawRuler(this.ruler, this.view, width);
    this.load();
    this.loadOverview();
    this.layer.drawAll();
  }
  width = 0;
  // the waveform's width the views were last asked for
  /** Streamlit unmounts the component: stop listening, fetching and playing. */
  dispose() {
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
  renewToken(force = false) {
    if (!this.data || this.renewing) return;
    if (!force && Date.now() - this.tokenAt < this.data.token_seconds * 1e3 / 2) return;
    this.renewing = true;
    this.rerun("renew");
  }
  /** Count the last second if it was active; on an assigned sound, hand the page what has added up. */
  tick() {
    const now = Date.now();
    this.clock.tick(now, this.playback.playing, document.visibilityState === "visible");
    if (!this.data?.assigned) return;
    const seconds = this.clock.take(now);
    if (seconds) this.rerun("active", { seconds, sound_id: this.data.sound_id, at: now });
  }
  /** The page leaves the sound shown (see src/activity.ts `leave`): its last active seconds go to the API now. */
  leaveSound() {
    if (!this.data) return;
    leave(
      this.clock,
      Date.now(),
      this.playback.playing,
      this.data.sound_id,
      !!this.data.assigned,
      (id, seconds) => this.api.postAndForget(`/my-work/${encodeURIComponent(id)}/time`, { seconds })
    );
  }
  /** D on an assigned sound: once every change is saved, the page submits it (with the active time left). */
  done() {
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
  drawActions() {
    const people = this.data.review;
    this.actions.hidden = !people;
    if (!people) return this.actions.replaceChildren();
    const buttons = people.map((person) => {
      const button = element(
        "button",
        { type: "button", class: "take-person", "data-author": person.id },
        `Take ${person.name}'s regions into gold`
      );
      button.addEventListener("click", () => this.take(this.editor.regions.filter((r) => !r.gold && r.author === person.id)));
      return button;
    });
    const chosen = element("button", { type: "button", class: "take-chosen" }, `Take the chosen regions into gold (${this.chosen.size})`);
    chosen.addEventListener("click", () => this.takeChosen());
    const hint = element(
      "span",
      { class: "review-hint" },
      "click people's regions to choose them, G takes them · the gold lane is edited as usual · red: no match in another lane"
    );
    this.actions.replaceChildren(...buttons, chosen, hint);
  }
  takeChosen() {
    const regions = this.editor.regions.filter((r) => this.chosen.has(r.key));
    if (!regions.length) return this.say("Choose regions first: click them in the people's lanes.");
    this.take(regions);
  }
  take(regions) {
    const request = takeRequest(regions);
    if (!request.ids.length) return this.say("There is nothing to take: those lanes have no stored regions.");
    this.chosen.clear();
    this.drawActions();
    this.layer.drawAll();
    this.rerun("take", { ...request, at: Date.now() });
  }
  // -- the page's data ------------------------------------------------------------------------------------
  update(data) {
    const fresh = !this.data || this.data.sound_id !== data.sound_id;
    const otherChannel = !fresh && this.data.channel !== data.channel;
    if (fresh) this.leaveSound();
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
    const keys2 = new Set(this.editor.regions.map((r) => r.key));
    for (const key of [...this.chosen]) if (fresh || !keys2.has(key)) this.chosen.delete(key);
    this.palette.draw(data.tags || []);
    this.drawActions();
    if (fresh) {
      performance.mark("earmark:sound");
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
  color(tag) {
    return tag && this.data.colors?.[tag] || "#4a6fa5";
  }
  tags() {
    return this.palette.tags(this.data.tags || []);
  }
  choose(tag) {
    this.palette.current = tag;
    this.palette.draw(this.data.tags || []);
  }
  /** A tag typed in the palette's box: added to the selected region, else the tag new regions get; a new one is
   * added to the dataset's vocabulary too, so it keeps its place, key and colour once no region has it. */
  typedTag(tag) {
    if (!this.editor.label(tag, true)) this.palette.current = tag;
    this.palette.current ??= tag;
    this.palette.draw(this.data.tags || []);
    this.box.focus();
    if (!(this.data.tags || []).includes(tag)) void this.keepTag(tag);
  }
  async keepTag(tag) {
    try {
      const kept = await this.api.call("POST", `/sounds/${this.data.sound_id}/tags`, { tag });
      this.data.colors = { ...this.data.colors, [kept.tag]: kept.color };
      this.palette.draw(this.data.tags || []);
    } catch (error) {
      this.say(`The tag ${tag} was not added to the dataset's tags: ${error.message}`);
    }
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
    drawRuler(this.ruler, view, this.box.clientWidth);
    this.overview.place(view, this.data.duration);
    this.layer.drawAll();
    this.follow(this.playback.now, false);
    this.load();
  }
  zoom(factor, around) {
    this.setView(zoomView(this.view, factor, around, this.data.duration));
  }
  /** The view, its length kept, centred on `time` (a press on the overview). */
  centreOn(time) {
    const half = (this.view.end - this.view.start) / 2;
    this.setView(clampView(time - half, time + half, this.data.duration));
  }
  wheel(event) {
    event.preventDefault();
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      this.setView(shiftView(this.view, 0.1 * Math.sign(event.deltaX || event.deltaY), this.data.duration));
      return;
    }
    this.zoom(wheelFactor(event.deltaY, event.ctrlKey), this.timeAtX(event.clientX));
  }
  peaksQuery(start, end, points) {
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4), points: String(points) });
    if (this.data.channel !== null && this.data.channel !== void 0) query.set("channel", String(this.data.channel));
    return query;
  }
  /** Ask the server for exactly the window shown (two points per pixel); a newer view cancels an older request. */
  async load() {
    if (!this.data) return;
    const { start, end } = this.view;
    this.box.dataset.ready = "false";
    this.pending?.abort();
    const controller = this.pending = new AbortController();
    const width = Math.max(10, Math.min(2500, Math.round(this.box.clientWidth || 800)));
    try {
      const line = await this.api.call(
        "GET",
        `/sounds/${this.data.sound_id}/peaks?${this.peaksQuery(start, end, 2 * width)}`,
        void 0,
        controller.signal
      );
      if (controller !== this.pending) return;
      const arrived = performance.now();
      this.draw(line, { start, end });
      performance.measure("earmark:view-drawn", { start: arrived });
      void this.spectrogram.show(this.data.sound_id, { start, end }, this.data.channel ?? null, this.data.spectrogram_max_seconds);
    } catch (error) {
      if (error.name !== "AbortError") this.say(`The waveform could not be loaded: ${error.message}`);
    }
  }
  /** The view's peaks on the waveform's own canvas; `data-ready` says the view is on the screen. */
  draw(line, view) {
    plot(this.wave, this.box.clientWidth, WAVE_HEIGHT, line, view);
    this.box.dataset.viewStart = view.start.toFixed(4);
    this.box.dataset.viewEnd = view.end.toFixed(4);
    this.box.dataset.ready = "true";
    if (this.firstView) {
      this.firstView = false;
      performance.measure("earmark:first-view", "earmark:sound");
    }
  }
  async loadOverview() {
    if (!this.data) return;
    try {
      await this.overview.load(this.data.sound_id, this.data.duration, (a, b, n) => this.peaksQuery(a, b, n));
      this.overview.place(this.view, this.data.duration);
    } catch (error) {
      this.say(`The overview could not be loaded: ${error.message}`);
    }
  }
  buildToolbar() {
    this.find(".play").addEventListener("click", () => this.playback.toggle());
    this.find(".loop").addEventListener("click", () => this.toggleLoop());
    const toggle = this.find(".spectrogram-toggle");
    toggle.addEventListener("click", () => {
      this.spectrogram.on = !this.spectrogram.on;
      toggle.classList.toggle("on", this.spectrogram.on);
      toggle.setAttribute("aria-pressed", String(this.spectrogram.on));
      void this.spectrogram.show(this.data.sound_id, this.view, this.data.channel ?? null, this.data.spectrogram_max_seconds);
    });
    const rate = this.find(".rate");
    rate.replaceChildren(...RATES.map((r) => {
      const option = element("option", { value: String(r) }, `${r}×`);
      option.selected = r === 1;
      return option;
    }));
    rate.addEventListener("change", () => {
      this.playback.rate = Number(rate.value);
    });
  }
  // -- gestures: what a drag or a click means ----------------------------------------------------------------
  hover(event) {
    this.pointer = this.timeAtX(event.clientX);
    if (this.gestures.gesture) return;
    const region = this.layer.regionAt(event.target);
    const bar = region && this.layer.bar(region);
    let cursor = "crosshair";
    if (region && bar && this.editor.editable(region, false)) {
      cursor = gripAt(event.clientX - bar.left, bar.width) === "body" ? "move" : "ew-resize";
    } else if (region) cursor = "pointer";
    this.box.style.cursor = cursor;
  }
  /** A drag on the waveform or an empty lane: a new region from `from` to `to`, over whatever is there. */
  drawing(from, to, gesture) {
    let region = gesture.region;
    if (!region) {
      region = newRegion(from, to, this.palette.current ? [this.palette.current] : [], Boolean(this.data.review));
      this.editor.regions.push(region);
    }
    Object.assign(region, { start: from, end: to });
    this.layer.reposition(region);
    return region;
  }
  released(gesture) {
    const region = gesture.region;
    if (gesture.kind === "draw") this.editor.made(region);
    else this.editor.moved(region, gesture.was);
  }
  abandoned(gesture) {
    if (gesture.kind === "draw") this.editor.drop(gesture.region);
    else this.layer.reposition(gesture.region);
  }
  clicked(region, clientX) {
    if (this.data.review && region && !region.gold && region.source !== "suggestion") {
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
  saved() {
    window.clearTimeout(this.catchUp);
    this.catchUp = window.setTimeout(() => {
      if (this.gestures.gesture || !this.textBox.hidden || this.saver.busy) return this.saved();
      this.rerun("changed");
    }, CATCH_UP_MS);
  }
  // -- the keyboard -------------------------------------------------------------------------------------------
  key(event) {
    if (!this.data) return;
    const target = event.composedPath()[0] ?? event.target;
    const ownButton = target.tagName === "BUTTON" && this.root.contains(target);
    const where = {
      onBox: target === this.box || ownButton,
      pointerOver: this.pointerOver,
      onlyOne: live.size === 1,
      targetTypes: typesItself(target.tagName ?? "", Boolean(target.isContentEditable))
    };
    if (!takesKeys(where)) return;
    const command = commandOf(event);
    const action = command && this.action(command);
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  }
  /** What a command does now, or null if it does nothing here (so the key goes on to the page). */
  action(command) {
    const region = this.editor.selected;
    if (typeof command === "object") {
      const tag = this.tags()[command.tag];
      return tag ? () => {
        if (!this.editor.label(tag)) this.choose(tag);
      } : null;
    }
    const centre = this.pointer ?? (this.view.start + this.view.end) / 2;
    const always = {
      "zoom-in": () => this.zoom(1 / 2, centre),
      "zoom-out": () => this.zoom(2, centre),
      left: () => this.setView(shiftView(this.view, -0.2, this.data.duration)),
      right: () => this.setView(shiftView(this.view, 0.2, this.data.duration)),
      play: () => this.playback.toggle(),
      loop: () => this.toggleLoop(),
      "mark-start": () => this.markStart(),
      "mark-end": () => this.markEnd(),
      undo: () => this.editor.undo(false),
      redo: () => this.editor.undo(true),
      ...this.data.assigned ? { done: () => this.done() } : {},
      ...this.data.review ? { take: () => this.takeChosen() } : {}
    };
    const onSelected = region ? {
      deselect: () => {
        this.editor.select(null);
        this.layer.drawAll();
      },
      delete: () => this.editor.remove(region),
      text: () => this.editText(region),
      accept: () => this.editor.review(region, "accept"),
      reject: () => this.editor.review(region, "reject")
    } : {};
    return always[command] ?? onSelected[command] ?? null;
  }
  /** [ at the playhead: where the next region starts (as transcribers mark while listening). */
  markStart() {
    this.mark = this.playback.now;
    this.layer.paint();
    this.say(`Start marked at ${this.mark.toFixed(2)} s: ] at the end makes the region.`);
  }
  /** ] at the playhead: the region from the marked start to here (no mark: from the cursor where play began). */
  markEnd() {
    const now = this.playback.now;
    const from = this.mark ?? this.playback.cursor;
    const [start, end] = [Math.min(from, now), Math.max(from, now)].map(toMillisecond);
    if (end - start < 0.01) return this.say("Mark a start with [ first, then ] where the region ends.");
    this.mark = null;
    this.editor.made(newRegion(start, end, this.palette.current ? [this.palette.current] : [], Boolean(this.data.review)));
  }
  editText(region) {
    if (!this.editor.editable(region)) return;
    this.textBox.hidden = false;
    this.textBox.value = region.text;
    this.textBox.dataset.key = String(region.key);
    this.textBox.focus();
    this.textBox.select();
  }
  textKey(event) {
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
  toggleLoop() {
    const region = this.editor.selected;
    const looping = !this.playback.loop && region ? region : null;
    if (!region && !this.playback.loop) this.say("Select a region to loop it.");
    this.playback.setLoop(looping);
    const button = this.find(".loop");
    button.classList.toggle("on", Boolean(looping));
    button.setAttribute("aria-pressed", String(Boolean(looping)));
  }
  /** The playhead at `time`; while playing, the view follows it. */
  follow(time, scroll = true) {
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
  say(message) {
    this.status.textContent = message;
  }
};

// src/index.ts
function index_default({ parentElement, data, setTriggerValue }) {
  const root = parentElement;
  root.__earmark ??= new Waveform(root, (why, value) => setTriggerValue(why, value ?? Date.now()));
  root.__earmark.update(data);
  return () => window.setTimeout(() => {
    const element2 = root instanceof ShadowRoot ? root.host : root;
    if (element2.isConnected || !root.__earmark) return;
    root.__earmark.dispose();
    delete root.__earmark;
  });
}
export {
  index_default as default
};
