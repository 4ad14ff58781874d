// Saving: every change shown on the waveform is sent through the HTTP API in the background, one at a time per
// region, each with the version the last answer gave; a refusal (409, 403, ...) is said on the region and what
// the server has is shown instead. DOM-free: tested with a fake API in test/saving.test.ts.

import { ApiError, type Stored } from "./api";
import type { Region, Suggested } from "./regions";

/** The HTTP calls saving needs (src/api.ts `Api`, or a fake in the tests). */
export interface Calls {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** What saving tells the component. */
export interface Hooks {
  redraw(region: Region): void; // its bounds, tags, state or error changed
  drop(region: Region): void; // take it off the screen (deleted, refused creation, reviewed elsewhere)
  restore(region: Region): void; // put it back (a refused deletion or rejection)
  say(message: string): void; // the status line ("" clears it)
  saved(): void; // a change was stored
}

export type Changes = Partial<Pick<Region, "start" | "end" | "tags" | "text">>;

/** A refusal saying the annotation is no longer there to change (deleted, or a suggestion already reviewed). */
export function gone(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 409);
}

/** The request body of a change (the API's names). */
export function changeBody(changes: Changes): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if ("start" in changes) body.start_seconds = changes.start;
  if ("end" in changes) body.end_seconds = changes.end;
  if ("tags" in changes) body.tags = changes.tags;
  if ("text" in changes) body.text = changes.text;
  return body;
}

export class Saver {
  /** Ids deleted or reviewed here: a page run older than the deletion must not bring them back. */
  readonly deleted = new Set<string>();
  private readonly chains = new Map<number, Promise<void>>();

  constructor(private readonly api: Calls, private readonly hooks: Hooks, private readonly sound: () => { id: string; channel: number | null }) {}

  /** Whether anything is still being saved (the page waits before it catches up). */
  get busy(): boolean {
    return this.chains.size > 0;
  }

  /** Run `job` after the region's earlier changes are answered, so each is sent with the version the last gave. */
  queue(region: Region, job: () => Promise<void>): Promise<void> {
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

  private refused(region: Region, what: string, error: unknown): void {
    region.error = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    this.hooks.say(region.error);
  }

  private done(): void {
    this.hooks.say("");
    this.hooks.saved();
  }

  adopt(region: Region, stored: Stored): void {
    Object.assign(region, { id: stored.id, version: stored.version, start: stored.start_seconds, end: stored.end_seconds,
      tags: stored.tags ?? [], text: stored.text ?? "", error: "" });
  }

  /** Store a region drawn here (or brought back by an undo): it gets an id and a version. */
  create(region: Region): Promise<void> {
    return this.queue(region, async () => {
      const { id, channel } = this.sound();
      try {
        this.adopt(region, await this.api.call<Stored>("POST", `/sounds/${id}/annotations`,
          { start_seconds: region.start, end_seconds: region.end, tags: region.tags, text: region.text || null, channel,
            ...(region.gold ? { is_gold: true } : {}) })); // drawn in review's gold lane: part of the gold version
        region.local = true; // until the page's data has it
        this.done();
      } catch (error) {
        this.hooks.drop(region);
        this.refused(region, "Not saved", error);
      }
    });
  }

  /** Send `changes` already shown on `region` (`before`: what it showed until then, put back on a refusal). */
  change(region: Region, changes: Changes, before: Changes): Promise<void> {
    const body = changeBody(changes);
    return this.queue(region, async () => {
      if (!region.id) return; // its creation was refused: nothing to change
      try {
        this.adopt(region, await this.api.call<Stored>("PATCH", `/annotations/${region.id}`, { ...body, version: region.version }));
        this.done();
      } catch (error) {
        Object.assign(region, before);
        if (error instanceof ApiError && error.status === 409) await this.reload(region);
        if (error instanceof ApiError && error.status === 404) this.hooks.drop(region); // deleted by someone meanwhile
        this.refused(region, "Not saved", error);
      }
    });
  }

  /** After a 409: show the annotation as someone else stored it (or drop it if they deleted it). */
  private async reload(region: Region): Promise<void> {
    try {
      this.adopt(region, await this.api.call<Stored>("GET", `/annotations/${region.id}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.hooks.drop(region);
    }
  }

  /** Delete a region already taken off the screen (after its creation, if that is still on its way). */
  remove(region: Region): Promise<void> {
    if (region.id) this.deleted.add(region.id);
    return this.queue(region, async () => {
      const id = region.id;
      if (!id) return; // its creation was refused: nothing was stored
      this.deleted.add(id);
      try {
        await this.api.call("DELETE", `/annotations/${id}`);
        region.id = null; // a redo of its creation stores it anew
        this.done();
      } catch (error) {
        if (gone(error)) return this.hooks.say(`Already gone: ${(error as Error).message}`);
        this.deleted.delete(id);
        this.hooks.restore(region);
        this.refused(region, "Not deleted", error);
      }
    });
  }

  /** Accept (it becomes this person's annotation, with what was changed on it here) or reject a suggestion. */
  review(region: Region, verdict: "accept" | "reject"): Promise<boolean> {
    const id = region.id as string;
    if (verdict === "reject") this.deleted.add(id);
    let taken = false;
    return this.queue(region, async () => {
      try {
        if (verdict === "accept") {
          const stored = await this.api.call<Stored>("POST", `/annotations/${id}/accept`,
            { start_seconds: region.start, end_seconds: region.end, tags: region.tags, text: region.text });
          this.deleted.add(id); // the suggestion is gone; the region is now the person's new annotation
          this.adopt(region, stored);
          Object.assign(region, { source: "human", bot: "", mine: true, draft: false, local: true });
        } else {
          await this.api.call("POST", `/annotations/${id}/reject`);
        }
        taken = true;
        this.done();
      } catch (error) {
        const what = verdict === "accept" ? "Not accepted" : "Not rejected";
        if (gone(error)) { // someone else reviewed it, or a re-run of its analyzer replaced it: it is not there
          this.deleted.add(id);
          this.hooks.drop(region);
          return this.hooks.say(`${what}: ${(error as Error).message}`);
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
  unreview(region: Region, suggested: Suggested, origin: string, accepted: boolean): Promise<void> {
    return this.queue(region, async () => {
      const acceptedId = accepted ? region.id : null;
      try {
        const stored = await this.api.call<Stored>("POST", `/sounds/${this.sound().id}/suggestions`, { source: origin,
          start_seconds: suggested.start, end_seconds: suggested.end, tags: suggested.tags, text: suggested.text || null,
          accepted_id: acceptedId });
        if (acceptedId) this.deleted.add(acceptedId);
        this.adopt(region, stored);
        Object.assign(region, { source: "suggestion", bot: origin.split(":")[0], mine: false, draft: false, local: true,
          origin, suggested: { ...suggested, tags: [...suggested.tags] } });
        this.hooks.restore(region);
        this.done();
      } catch (error) {
        this.refused(region, "Not undone", error);
      }
    });
  }
}
