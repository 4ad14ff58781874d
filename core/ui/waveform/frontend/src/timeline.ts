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
