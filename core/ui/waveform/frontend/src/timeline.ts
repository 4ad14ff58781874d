// Time on the waveform: which seconds a view shows, zooming around a point, scrolling; pure functions, tested
// in test/timeline.test.ts. Time is linear in x across the waveform's box (the end-to-end tests rely on it).

export interface View {
  start: number;
  end: number;
}

/** The narrowest view: 50 ms still shows single periods of a low voice. */
export const MIN_VIEW_SECONDS = 0.05;

/** A view of [start, end) moved and narrowed so it lies within the sound, at least MIN_VIEW_SECONDS wide. */
export function clampView(start: number, end: number, duration: number): View {
  const length = Math.min(duration, Math.max(MIN_VIEW_SECONDS, end - start));
  const from = Math.min(Math.max(0, start), Math.max(0, duration - length));
  return { start: from, end: from + length };
}

/** Zoom by `factor` (< 1 zooms in) keeping the time `around` where it is on screen. */
export function zoomView(view: View, factor: number, around: number, duration: number): View {
  return clampView(around - (around - view.start) * factor, around + (view.end - around) * factor, duration);
}

/** Scroll by a fraction of the view's length (negative: to the left). */
export function shiftView(view: View, fraction: number, duration: number): View {
  const shift = (view.end - view.start) * fraction;
  return clampView(view.start + shift, view.end + shift, duration);
}

/** A time as regions keep it: to the millisecond (a pixel is never finer than that in a view people draw in), so
 * what is saved reads 8.4, not 8.399999999999999. */
export function toMillisecond(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The time at a fraction (0 left edge, 1 right edge) of the view. */
export function timeAt(view: View, fraction: number): number {
  return view.start + Math.min(1, Math.max(0, fraction)) * (view.end - view.start);
}

/** Where a time falls in the view, as a fraction of its width (may lie outside 0-1). */
export function fractionOf(view: View, time: number): number {
  return (time - view.start) / (view.end - view.start);
}

/** A wheel event's zoom factor: one notch of a mouse wheel is 1.25x; a trackpad pinch (ctrlKey, small deltas)
 * zooms in proportion to how far the fingers moved. */
export function wheelFactor(deltaY: number, pinch: boolean): number {
  if (pinch) return Math.exp(Math.max(-1, Math.min(1, deltaY * 0.01)));
  return deltaY < 0 ? 1 / 1.25 : 1.25;
}

/** Times for the ruler under the waveform: a round step (1, 2 or 5 times a power of ten seconds) leaving at
 * least `minPixels` between labels on a `width`-pixel view. */
export function ticks(view: View, width: number, minPixels = 90): { step: number; times: number[] } {
  const least = ((view.end - view.start) * minPixels) / Math.max(1, width);
  const power = 10 ** Math.floor(Math.log10(least));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= least) ?? 10 * power;
  const times: number[] = [];
  for (let i = Math.ceil(view.start / step); i * step <= view.end + step * 1e-9; i++) times.push(i * step);
  return { step, times };
}

/** A ruler label: seconds with as many decimals as the step needs, minutes and hours as m:ss and h:mm:ss. */
export function timeLabel(seconds: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const whole = Math.floor(seconds + 1e-9);
  const fraction = decimals ? (seconds - whole).toFixed(decimals).slice(1) : "";
  if (seconds < 60) return `${(seconds + 1e-9).toFixed(decimals)} s`;
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const pad = (n: number) => String(n).padStart(2, "0");
  return (h ? `${h}:${pad(m)}` : `${m}`) + `:${pad(s)}${fraction}`;
}
