// Active time: how long a person worked on a sound, not how long the page stayed open. A second counts when the
// page is visible and either the person did something (pointer, keys, wheel) within the last IDLE_SECONDS or the
// sound is playing (listening is work). The component adds the seconds up and hands them to the page every
// REPORT_SECONDS (and when the sound is done), which adds them through core/team's service. When the page leaves
// the sound before that (another sound opens, the tab is hidden or closed, the component is taken off the page),
// `leave` sends what is left straight to the API instead (core/api/team.py's /my-work/{id}/time, a request that
// outlives the page), without a page run. Pure; tested in test/activity.test.ts.

/** After this long with no input and nothing playing, time stops counting (someone went for coffee). */
export const IDLE_SECONDS = 60;
/** How often the seconds counted are handed to the page (each report is one page run). */
export const REPORT_SECONDS = 30;

export class ActiveClock {
  private lastInput = Number.NEGATIVE_INFINITY; // ms
  private lastTick: number | null = null; // ms
  private counted = 0; // seconds not yet reported
  private lastReport: number; // ms

  constructor(now: number) {
    this.lastReport = now;
  }

  /** The person did something at `now` (ms). */
  touch(now: number): void {
    this.lastInput = now;
  }

  /** Time passed to `now` (ms): the part of it that was active is counted. `playing`: the sound played meanwhile;
   * `visible`: the page was in view. Gaps (a sleeping laptop's timers) count only up to the idle limit. */
  tick(now: number, playing: boolean, visible: boolean): void {
    const from = this.lastTick ?? now;
    this.lastTick = now;
    if (!visible || now <= from) return;
    if (playing) {
      this.counted += (now - from) / 1000;
      return;
    }
    const activeUntil = this.lastInput + IDLE_SECONDS * 1000;
    const end = Math.min(now, activeUntil);
    if (end > from) this.counted += (end - from) / 1000;
  }

  /** Whole seconds to report now (0: nothing yet, or not time to report), taken off the count. `force`: report
   * whatever there is (the sound is done). */
  take(now: number, force = false): number {
    if (!force && now - this.lastReport < REPORT_SECONDS * 1000) return 0;
    const seconds = Math.floor(this.counted);
    if (seconds < 1) return 0;
    this.counted -= seconds;
    this.lastReport = now;
    return seconds;
  }

  /** Everything counted, to the millisecond, taken off the count: the page is leaving the sound, so nothing is
   * kept for a later report. */
  drain(now: number): number {
    const seconds = Math.round(this.counted * 1000) / 1000;
    this.counted = 0;
    this.lastReport = now;
    return seconds;
  }
}

/** Sends the seconds left on a sound to the server without a page run (src/api.ts `postAndForget`). */
export type Send = (soundId: string, seconds: number) => void;

/** The page leaves `soundId` at `now` (ms): the time up to now counts (the page was in view until this moment),
 * and all of it is sent for an assigned sound; for any other it is dropped, so it never counts on the next sound.
 * Returns the seconds sent (0: none). */
export function leave(clock: ActiveClock, now: number, playing: boolean, soundId: string | null, assigned: boolean,
                      send: Send): number {
  clock.tick(now, playing, true);
  const seconds = clock.drain(now);
  if (!assigned || !soundId || seconds <= 0) return 0;
  send(soundId, seconds);
  return seconds;
}
