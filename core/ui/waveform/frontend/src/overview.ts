// Around the view: the overview strip (the whole sound, small, with the view's window on it: a press or drag
// there moves the view) and the time ruler under the waveform.

import { plot, type Line } from "./drawing";
import { element } from "./palette";
import { fractionOf, ticks, timeAt, timeLabel, type View } from "./timeline";

export interface PeaksSource {
  call<T>(method: string, path: string): Promise<T>;
}

export class Overview {
  private steering = false;

  constructor(private readonly strip: HTMLElement, private readonly api: PeaksSource, private readonly moveTo: (time: number) => void,
    listen: (target: EventTarget, type: string, handler: (event: PointerEvent) => void) => void) {
    listen(strip, "pointerdown", (e) => {
      this.steering = true;
      strip.setPointerCapture?.(e.pointerId);
      this.steer(e);
      e.preventDefault();
    });
    listen(strip, "pointermove", (e) => { if (this.steering) this.steer(e); });
    listen(strip, "pointerup", () => { this.steering = false; });
  }

  private duration = 0;

  /** The whole sound's peaks (two points per pixel), drawn once per sound and width. */
  async load(soundId: string, duration: number, query: (start: number, end: number, points: number) => URLSearchParams): Promise<void> {
    this.duration = duration;
    const width = Math.max(10, Math.min(2500, Math.round(this.strip.clientWidth || 800)));
    const line = await this.api.call<Line>("GET", `/sounds/${soundId}/peaks?${query(0, duration, 2 * width)}`);
    plot(this.strip.querySelector("canvas") as HTMLCanvasElement, this.strip.clientWidth, this.strip.clientHeight, line,
      { start: 0, end: duration });
    this.strip.dataset.ready = "true";
  }

  /** Where the view lies on the whole sound. */
  place(view: View, duration: number): void {
    const whole = { start: 0, end: duration };
    const frame = this.strip.querySelector(".window") as HTMLElement;
    frame.style.left = `${fractionOf(whole, view.start) * 100}%`;
    frame.style.width = `${Math.max(0.3, (fractionOf(whole, view.end) - fractionOf(whole, view.start)) * 100)}%`;
  }

  private steer(event: PointerEvent): void {
    if (!this.duration) return;
    const rect = this.strip.getBoundingClientRect();
    this.moveTo(timeAt({ start: 0, end: this.duration }, (event.clientX - rect.left) / rect.width));
  }
}

/** The ruler's labels for `view`, `width` pixels wide: round steps, s / m:ss / h:mm:ss (src/timeline.ts). */
export function drawRuler(ruler: HTMLElement, view: View, width: number): void {
  const { step, times } = ticks(view, width || 800);
  ruler.replaceChildren(...times.map((t) => {
    const mark = element("span", {}, timeLabel(t, step));
    mark.style.left = `${fractionOf(view, t) * 100}%`;
    return mark;
  }));
}
