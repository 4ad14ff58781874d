// Earmark's waveform component (st.components.v2): any view of a sound drawn from the server's peaks windows
// (GET /api/v1/sounds/{id}/peaks, at most two points per pixel), played from a signed link with HTTP Range,
// with a moving playhead; annotations shown as regions. Plain ES module, no dependencies: this file is what
// the browser runs.
//
// Drawing: pick a tag in the palette (a click, or digits 1-9), drag across empty waveform: the region appears on
// mouse-up and is saved in the background (POST, with the page token); a refusal is shown and the region taken back
// out. A click on a region selects it; Delete removes it (your own; administrators: any), again undone if refused.
//
// Contract relied on by end-to-end tests: [data-testid=earmark-waveform] with data-view-start, data-view-end
// (seconds at the left and right edge) and data-ready="true" once the view is drawn; [data-testid=earmark-region]
// with data-id, data-start, data-end, data-tags (";"-joined), data-source and data-saved; [data-testid=earmark-playhead]
// with data-time.

const MIN_VIEW_SECONDS = 0.05;
const ZOOM_STEP = 1.25;

class Waveform {
  constructor(root) {
    this.root = root;
    this.box = root.querySelector("[data-testid=earmark-waveform]");
    this.canvas = root.querySelector("canvas");
    this.playhead = root.querySelector("[data-testid=earmark-playhead]");
    this.regions = root.querySelector(".regions");
    this.audio = root.querySelector("audio");
    this.status = root.querySelector(".status");
    this.palette = root.querySelector(".palette");
    this.local = [];  // regions drawn here and not yet in the page's data
    this.selected = null;
    this.current = null;  // the tag new regions get
    this.drag = null;
    this.box.addEventListener("mousedown", (e) => this.startDrag(e));
    window.addEventListener("mousemove", (e) => this.moveDrag(e));
    window.addEventListener("mouseup", (e) => this.endDrag(e));
    this.view = { start: 0, end: 0 };
    this.line = null;
    this.pending = null;
    this.cursor = 0;
    this.box.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.box.addEventListener("keydown", (e) => this.onKey(e));
    this.box.addEventListener("click", (e) => {
      if (this.dragged) { this.dragged = false; return; }  // the end of a drag, not a click
      this.select(null);
      this.seek(this.timeAt(e.clientX));
    });
    this.audio.addEventListener("play", () => this.follow());
    new ResizeObserver(() => this.load()).observe(this.box);
  }

  update(data) {
    const fresh = !this.data || this.data.sound_id !== data.sound_id;
    this.data = data;
    const known = new Set((data.regions || []).map((r) => r.id));
    this.local = fresh ? [] : this.local.filter((r) => !r.id || !known.has(r.id));
    if (!this.current || !(data.tags || []).includes(this.current)) this.current = (data.tags || [])[0] || null;
    this.drawPalette();
    if (fresh) {
      this.view = { start: 0, end: data.duration };
      this.cursor = 0;
      this.audio.src = data.audio_url;
      this.load();
    }
    this.drawRegions();
    this.movePlayhead(this.audio.currentTime || this.cursor);
  }

  timeAt(clientX) {
    const rect = this.box.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return this.view.start + fraction * (this.view.end - this.view.start);
  }

  setView(start, end) {
    const duration = this.data.duration;
    let length = Math.min(duration, Math.max(MIN_VIEW_SECONDS, end - start));
    start = Math.min(Math.max(0, start), duration - length);
    this.view = { start, end: start + length };
    this.load();
  }

  onWheel(event) {
    event.preventDefault();
    const at = this.timeAt(event.clientX);
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      const shift = (this.view.end - this.view.start) * 0.1 * Math.sign(event.deltaX || event.deltaY);
      this.setView(this.view.start + shift, this.view.end + shift);
      return;
    }
    this.zoom(event.deltaY < 0 ? 1 / ZOOM_STEP : ZOOM_STEP, at);
  }

  zoom(factor, around) {
    const { start, end } = this.view;
    this.setView(around - (around - start) * factor, around + (end - around) * factor);
  }

  allRegions() {
    return [...(this.data.regions || []), ...this.local];
  }

  drawPalette() {
    this.palette.replaceChildren(...(this.data.tags || []).map((tag, i) => {
      const button = document.createElement("button");
      button.setAttribute("data-testid", "earmark-tag");
      button.dataset.tag = tag;
      button.textContent = i < 9 ? `${i + 1} ${tag}` : tag;  // text, never HTML
      button.className = tag === this.current ? "current" : "";
      button.addEventListener("click", () => this.choose(tag));
      return button;
    }));
  }

  choose(tag) {
    this.current = tag;
    this.drawPalette();
  }

  startDrag(event) {
    this.dragged = false;  // whether the click that ends this press ends a drag
    if (event.button !== 0 || event.target.closest(".region")) return;
    this.drag = { from: this.timeAt(event.clientX), x: event.clientX, element: null };
  }

  moveDrag(event) {
    if (!this.drag) return;
    if (!this.drag.element && Math.abs(event.clientX - this.drag.x) < 4) return;
    const [a, b] = [this.drag.from, this.timeAt(event.clientX)].sort((p, q) => p - q);
    this.drag.region = { id: null, start: a, end: b, tags: this.current ? [this.current] : [], source: "human", mine: true };
    this.drag.element = true;
    this.drawRegions();
  }

  endDrag(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag || !drag.element) return;
    this.dragged = true;
    const region = drag.region;
    if (!this.current) {
      this.drawRegions();
      return this.say("Pick a tag above the waveform first: a region needs one.");
    }
    this.local.push(region);
    this.select(region);
    this.save(region);
  }

  async save(region) {
    try {
      const made = await this.call("POST", `/sounds/${this.data.sound_id}/annotations`,
        { start_seconds: region.start, end_seconds: region.end, tags: region.tags });
      Object.assign(region, { id: made.id, version: made.version, start: made.start_seconds, end: made.end_seconds });
      this.say("");
    } catch (error) {
      this.local = this.local.filter((r) => r !== region);
      this.say(`Not saved: ${error.message}`);
    }
    this.drawRegions();
  }

  async remove(region) {
    if (!region.id) return;
    this.local = this.local.filter((r) => r !== region);
    const hidden = (this.data.regions || []).includes(region);
    if (hidden) this.data.regions = this.data.regions.filter((r) => r !== region);
    this.select(null);
    try {
      await this.call("DELETE", `/annotations/${region.id}`);
      this.say("");
    } catch (error) {  // put it back
      if (hidden) this.data.regions.push(region); else this.local.push(region);
      this.say(`Not deleted: ${error.message}`);
      this.drawRegions();
    }
  }

  async call(method, path, body) {
    const response = await fetch(`${this.data.api}${path}`, {
      method, headers: { Authorization: `Bearer ${this.data.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  }

  select(region) {
    this.selected = region;
    this.drawRegions();
  }

  onKey(event) {
    const length = this.view.end - this.view.start;
    if ((event.key === "Delete" || event.key === "Backspace") && this.selected) {
      event.preventDefault();
      event.stopPropagation();
      return this.remove(this.selected);
    }
    if (/^[1-9]$/.test(event.key) && (this.data.tags || [])[Number(event.key) - 1]) {
      event.preventDefault();
      event.stopPropagation();
      return this.choose(this.data.tags[Number(event.key) - 1]);
    }
    const centre = (this.view.start + this.view.end) / 2;
    const keys = {
      i: () => this.zoom(1 / 2, centre), o: () => this.zoom(2, centre),
      ArrowLeft: () => this.setView(this.view.start - length * 0.2, this.view.end - length * 0.2),
      ArrowRight: () => this.setView(this.view.start + length * 0.2, this.view.end + length * 0.2),
      " ": () => this.toggle(),
    };
    const action = keys[event.key] || keys[event.key.toLowerCase()];
    if (action) {
      event.preventDefault();
      event.stopPropagation();  // the page's own shortcuts (I, O, arrows) act on the figure below, not here
      action();
    }
  }

  toggle() {
    if (this.audio.paused) {
      this.audio.currentTime = this.cursor;
      this.audio.play().catch((error) => this.say(`Cannot play: ${error.message}`));
    } else {
      this.cursor = this.audio.currentTime;
      this.audio.pause();
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
      const now = this.audio.currentTime;
      if (now > this.view.end) this.setView(now, now + (this.view.end - this.view.start));
      this.movePlayhead(now);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  movePlayhead(time) {
    this.playhead.dataset.time = time.toFixed(3);
    const { start, end } = this.view;
    const inside = time >= start && time <= end;
    this.playhead.style.display = inside ? "block" : "none";
    if (inside) this.playhead.style.left = `${((time - start) / (end - start)) * 100}%`;
  }

  async load() {
    if (!this.data) return;
    const { start, end } = this.view;
    this.box.dataset.ready = "false";
    if (this.pending) this.pending.abort();
    const controller = (this.pending = new AbortController());
    const width = Math.max(10, Math.min(2500, Math.round(this.box.clientWidth || 800)));
    const query = new URLSearchParams({ start: start.toFixed(4), end: end.toFixed(4), points: String(2 * width) });
    try {
      const response = await fetch(`${this.data.api}/sounds/${this.data.sound_id}/peaks?${query}`, {
        headers: { Authorization: `Bearer ${this.data.token}` }, signal: controller.signal,
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      this.line = body;
      this.draw();
      this.say("");
    } catch (error) {
      if (error.name !== "AbortError") this.say(`The waveform could not be loaded: ${error.message}`);
    }
  }

  draw() {
    const { canvas, line, view } = this;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(this.box.clientWidth * ratio);
    canvas.height = Math.round(this.box.clientHeight * ratio);
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.strokeStyle = this.data.color || "#4a6fa5";
    context.lineWidth = ratio;
    context.beginPath();
    const span = view.end - view.start;
    for (let i = 0; i < line.x.length; i++) {
      const x = ((line.x[i] - view.start) / span) * canvas.width;
      const y = (0.5 - line.y[i] / 2) * canvas.height;
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    }
    context.stroke();
    this.box.dataset.viewStart = view.start.toFixed(4);
    this.box.dataset.viewEnd = view.end.toFixed(4);
    this.drawRegions();
    this.movePlayhead(this.audio.paused ? this.cursor : this.audio.currentTime);
    this.box.dataset.ready = "true";
  }

  drawRegions() {
    const { start, end } = this.view;
    const span = end - start;
    const shown = [...this.allRegions(), ...(this.drag && this.drag.region ? [this.drag.region] : [])];
    this.regions.replaceChildren(...shown.filter((r) => r.end > start && r.start < end).map((r) => {
      const element = document.createElement("div");
      element.dataset.testid = "earmark-region";
      element.setAttribute("data-testid", "earmark-region");
      Object.assign(element.dataset, {
        id: r.id || "", start: String(r.start), end: String(r.end), tags: (r.tags || []).join(";"),
        source: r.source, saved: r.id ? "true" : "false",
      });
      element.className = `region ${r.source}${r === this.selected ? " selected" : ""}`;
      element.addEventListener("mousedown", (e) => e.stopPropagation());
      element.addEventListener("click", (e) => { e.stopPropagation(); this.select(r); this.box.focus(); });
      element.style.left = `${Math.max(0, (r.start - start) / span) * 100}%`;
      element.style.width = `${((Math.min(end, r.end) - Math.max(start, r.start)) / span) * 100}%`;
      const label = document.createElement("span");
      label.textContent = (r.source === "suggestion" ? "? " : "") + (r.tags || []).join(", ");  // text, never HTML
      element.append(label);
      return element;
    }));
  }

  say(message) {
    this.status.textContent = message;
  }
}

export default function ({ parentElement, data }) {
  const root = parentElement;
  if (!root.__earmark) root.__earmark = new Waveform(root);
  root.__earmark.update(data);
}
