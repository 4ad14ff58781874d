// Pointer gestures on the waveform, for mouse, pen and touch alike (Pointer Events): a drag anywhere on the
// waveform or an empty lane draws a new region (over other regions too: they overlap); a drag on a region's bar
// moves it by its body or resizes it by an edge; a press that does not move is a click (select, or seek);
// two fingers pinch to zoom. What a gesture means for the regions is the component's (src/waveform.ts).

import { dragged, gripAt, type Grip, type Region } from "./regions";
import { toMillisecond } from "./timeline";

const DRAG_PIXELS = 4; // a press that moves less than this is a click

export interface Gesture {
  kind: "draw" | Grip;
  x: number; // where the press was (client pixels)
  from: number; // the time there
  region: Region | null; // the region pressed (or being drawn, once the pointer has moved)
  was: { start: number; end: number };
  moved: boolean;
}

export interface GestureHooks {
  regionAt(target: EventTarget | null): Region | null;
  edgeBox(region: Region): DOMRect | null; // the region's bar on screen
  timeAt(clientX: number): number;
  secondsPerPixel(): number;
  duration(): number;
  mayChange(region: Region): boolean; // says why not, if not
  draw(from: number, to: number, gesture: Gesture): Region; // a new region appears (or grows)
  shown(region: Region): void; // the region moved: draw it again
  done(gesture: Gesture): void; // let go after a drag
  click(region: Region | null, clientX: number): void;
  abandoned(gesture: Gesture): void; // a drag cut short (a second finger, a cancelled pointer): undo what it showed
  pinch(factor: number, clientX: number): void;
  focus(): void;
}

/** The zoom factor and centre of a pinch whose two fingers went from `before` to `after` (client x). */
export function pinchOf(before: [number, number], after: [number, number]): { factor: number; centre: number } {
  const was = Math.max(1, Math.abs(before[0] - before[1]));
  const now = Math.max(1, Math.abs(after[0] - after[1]));
  return { factor: was / now, centre: (after[0] + after[1]) / 2 };
}

export class Gestures {
  gesture: Gesture | null = null;
  private readonly touches = new Map<number, number>(); // pointer id -> client x, while pressed

  constructor(private readonly box: HTMLElement, private readonly hooks: GestureHooks) {
    box.addEventListener("pointerdown", (e) => this.press(e));
    box.addEventListener("pointermove", (e) => this.drag(e));
    box.addEventListener("pointerup", (e) => this.release(e));
    box.addEventListener("pointercancel", (e) => this.cancel(e));
  }

  private press(event: PointerEvent): void {
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection while dragging
    this.hooks.focus();
    this.touches.set(event.pointerId, event.clientX);
    if (this.touches.size > 1) return this.abandon(); // a second finger: a pinch, not a drag
    this.box.setPointerCapture?.(event.pointerId);
    const region = this.hooks.regionAt(event.target);
    const from = this.hooks.timeAt(event.clientX);
    const bar = region && this.hooks.edgeBox(region);
    const kind: Gesture["kind"] = region && bar ? gripAt(event.clientX - bar.left, bar.width) : "draw";
    this.gesture = { kind, x: event.clientX, from, region, was: region ? { start: region.start, end: region.end } : { start: from, end: from }, moved: false };
  }

  private drag(event: PointerEvent): void {
    if (this.touches.size > 1 && this.touches.has(event.pointerId)) return this.pinch(event);
    const gesture = this.gesture;
    if (!gesture) return;
    if (!gesture.moved && Math.abs(event.clientX - gesture.x) < DRAG_PIXELS) return;
    if (gesture.kind === "draw") {
      const [a, b] = [gesture.from, this.hooks.timeAt(event.clientX)].map(toMillisecond).sort((p, q) => p - q);
      gesture.region = this.hooks.draw(a, b, gesture);
    } else {
      const region = gesture.region as Region;
      if (!gesture.moved && !this.hooks.mayChange(region)) {
        this.gesture = null;
        return;
      }
      const delta = (event.clientX - gesture.x) * this.hooks.secondsPerPixel();
      Object.assign(region, dragged(gesture.kind, gesture.was, delta, this.hooks.duration()));
    }
    gesture.moved = true;
    this.hooks.shown(gesture.region as Region);
  }

  private pinch(event: PointerEvent): void {
    const [a, b] = [...this.touches.keys()];
    const before: [number, number] = [this.touches.get(a) as number, this.touches.get(b) as number];
    this.touches.set(event.pointerId, event.clientX);
    const { factor, centre } = pinchOf(before, [this.touches.get(a) as number, this.touches.get(b) as number]);
    if (Math.abs(factor - 1) > 1e-3) this.hooks.pinch(factor, centre);
  }

  private release(event: PointerEvent): void {
    this.touches.delete(event.pointerId);
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    if (!gesture.moved) return this.hooks.click(gesture.kind === "draw" ? null : gesture.region, event.clientX);
    if (gesture.region) this.hooks.done(gesture);
  }

  private cancel(event: PointerEvent): void {
    this.touches.delete(event.pointerId);
    this.abandon();
  }

  /** Undo what an unfinished drag showed (a second finger, a cancelled pointer). */
  private abandon(): void {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture?.region || !gesture.moved) return;
    if (gesture.kind !== "draw") Object.assign(gesture.region, gesture.was);
    this.hooks.abandoned(gesture);
  }
}
