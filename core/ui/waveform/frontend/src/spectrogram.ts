// The spectrogram of the view: a PNG the server draws (GET /sounds/{id}/spectrogram, with the page token),
// fetched after each view when it is switched on; views longer than the server draws say so instead.

import type { View } from "./timeline";

export interface PictureSource {
  blob(path: string, signal?: AbortSignal): Promise<Blob>;
}

/** The request for the view's picture, or the sentence that says why there is none. */
export function pictureRequest(soundId: string, view: View, channel: number | null, maxSeconds: number): { path: string } | { note: string } {
  if (view.end - view.start > maxSeconds) return { note: `Zoom in to ${maxSeconds} s or less to see the spectrogram.` };
  const query = new URLSearchParams({ start: view.start.toFixed(4), end: view.end.toFixed(4) });
  if (channel !== null && channel !== undefined) query.set("channel", String(channel));
  return { path: `/sounds/${soundId}/spectrogram?${query}` };
}

export class Spectrogram {
  on = false;
  private request: AbortController | null = null;

  constructor(private readonly picture: HTMLImageElement, private readonly note: HTMLElement, private readonly api: PictureSource,
    private readonly say: (message: string) => void) {}

  /** Show the picture of `view` (or the note, or nothing when switched off); a newer view cancels an older one. */
  async show(soundId: string, view: View, channel: number | null, maxSeconds: number): Promise<void> {
    this.request?.abort();
    this.picture.hidden = this.note.hidden = true;
    if (!this.on) return;
    const wanted = pictureRequest(soundId, view, channel, maxSeconds);
    if ("note" in wanted) {
      this.note.textContent = wanted.note;
      this.note.hidden = false;
      return;
    }
    const controller = (this.request = new AbortController());
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
      if ((error as Error).name !== "AbortError") this.say(`The spectrogram could not be loaded: ${(error as Error).message}`);
    }
  }

  stop(): void {
    this.request?.abort();
    if (this.picture.src.startsWith("blob:")) URL.revokeObjectURL(this.picture.src);
  }
}
