// Playback: the sound played from its signed link (HTTP Range: only what is heard is fetched), from the cursor,
// at a chosen rate, looping a region; the playhead follows the audio each frame. The loop rule is pure
// (`looped`, tested in test/playback.test.ts).

export const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

/** Where playback should be at `now` while looping [start, end): back at the start once past the end (or well
 * before the start: someone sought away). */
export function looped(now: number, loop: { start: number; end: number } | null): number {
  if (loop && (now >= loop.end || now < loop.start - 0.25)) return loop.start;
  return now;
}

export interface PlaybackHooks {
  at(time: number): void; // the playhead is at `time` (each frame while playing, and on a seek)
  say(message: string): void;
}

export class Playback {
  cursor = 0; // where playing starts (a click on the waveform, or where it was paused)
  loop: { start: number; end: number } | null = null;

  constructor(private readonly audio: HTMLAudioElement, button: HTMLButtonElement, private readonly hooks: PlaybackHooks) {
    audio.addEventListener("play", () => { button.textContent = "‖ Pause"; this.follow(); });
    audio.addEventListener("pause", () => { button.textContent = "▶ Play"; });
  }

  get playing(): boolean {
    return !this.audio.paused;
  }

  /** Where the playhead is: the audio's time while playing, else the cursor. */
  get now(): number {
    return this.audio.paused ? this.cursor : this.audio.currentTime;
  }

  load(url: string): void {
    this.audio.src = url;
    this.cursor = 0;
    this.loop = null;
  }

  toggle(): void {
    if (this.audio.paused) {
      this.audio.currentTime = this.cursor;
      this.audio.play().catch((error: Error) => this.hooks.say(`Cannot play: ${error.message}`));
    } else {
      this.cursor = this.audio.currentTime;
      this.audio.pause();
    }
  }

  /** Loop [start, end) from its start (null: stop looping, keep playing). */
  setLoop(loop: { start: number; end: number } | null): void {
    this.loop = loop;
    if (!loop) return;
    this.cursor = loop.start;
    if (this.audio.paused) this.toggle();
    else this.audio.currentTime = loop.start;
  }

  seek(time: number): void {
    this.cursor = time;
    if (!this.audio.paused) this.audio.currentTime = time;
    this.hooks.at(time);
  }

  set rate(rate: number) {
    this.audio.playbackRate = rate;
  }

  stop(): void {
    this.audio.pause();
    this.audio.removeAttribute("src");
  }

  private follow(): void {
    const step = () => {
      if (this.audio.paused) return;
      const now = looped(this.audio.currentTime, this.loop);
      if (now !== this.audio.currentTime) this.audio.currentTime = now;
      this.hooks.at(now);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }
}
