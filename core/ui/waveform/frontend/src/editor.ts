// Editing the regions: the list on screen, which one is selected, and every change people make to them, each shown
// at once, saved in the background (src/saving.ts) and remembered for Ctrl+Z (src/history.ts). What is drawn where
// is the screen's (src/layer.ts); this module says only what changed.

import { History } from "./history";
import { mergeRegions, toggleTag, type Region, type ServerRegion } from "./regions";
import { Saver, type Changes } from "./saving";

/** What editing asks of the screen around it. */
export interface Screen {
  relayout(): void; // regions came or went: lanes anew, everything drawn
  reposition(region: Region): void; // one region drawn, moved or resized: a lane for it alone
  redraw(region: Region): void; // its tags, text, state or selection changed
  askTag(): void; // a new region has no tag yet: the tag box takes the cursor
  dropped(region: Region): void; // taken off the screen (playback stops looping it)
  say(message: string): void;
}

export class Editor {
  regions: Region[] = [];
  selected: Region | null = null;
  private readonly history = new History();

  constructor(private readonly saver: Saver, private readonly screen: Screen) {}

  /** A new sound: nothing carried over. */
  reset(): void {
    this.regions = [];
    this.selected = null;
    this.saver.deleted.clear();
    this.history.clear();
  }

  /** The page's regions, merged with what is being edited here (src/regions.ts `mergeRegions`). */
  merge(incoming: ServerRegion[]): void {
    this.regions = mergeRegions(this.regions, incoming, this.saver.deleted);
    if (this.selected && !this.regions.includes(this.selected)) this.selected = null;
  }

  /** Whether this person may change the region (suggestions: anyone who annotates, before accepting them). */
  editable(region: Region, explain = true): boolean {
    if (region.mine || region.source === "suggestion") return true;
    if (explain) this.screen.say("Only its author or an administrator can change this annotation.");
    return false;
  }

  select(region: Region | null): void {
    const was = this.selected;
    this.selected = region;
    if (was && was !== region && untagged(was)) this.drop(was); // an untagged drawing left behind
    if (was) this.screen.redraw(was);
    if (region) this.screen.redraw(region);
  }

  /** A region was drawn (a drag, or [ and ]): stored at once if it has a tag, else once it gets one. */
  made(region: Region): void {
    if (!this.regions.includes(region)) this.regions.push(region);
    this.screen.reposition(region);
    this.select(region);
    if (region.tags.length) return this.store(region);
    this.screen.say("Type a tag for the new region and press Enter (Esc drops it).");
    this.screen.askTag();
  }

  /** Save a new region, and remember it so Ctrl+Z takes it out again. */
  private store(region: Region): void {
    void this.saver.create(region);
    this.history.record({ what: "new region", undo: () => this.delete(region), redo: () => this.recreate(region) });
  }

  /** Show `changes` now and save them; Ctrl+Z puts back what was there. */
  change(region: Region, changes: Changes): void {
    if (!this.editable(region)) return;
    const before: Changes = {};
    for (const name of Object.keys(changes) as (keyof Changes)[]) Object.assign(before, { [name]: region[name] });
    this.apply(region, changes, before);
    this.history.record({ what: "change", undo: () => this.apply(region, before, changes), redo: () => this.apply(region, changes, before) });
  }

  /** A drag let go: the bounds it shows are the change (`was`: where the region was when the press began). */
  moved(region: Region, was: { start: number; end: number }): void {
    this.select(region);
    const changed = { start: region.start, end: region.end };
    Object.assign(region, was); // change() applies it again, remembering what it was
    this.change(region, changed);
    this.screen.reposition(region);
  }

  private apply(region: Region, changes: Changes, before: Changes): void {
    Object.assign(region, changes, { error: "" });
    if (region.source === "suggestion") region.draft = true; // kept here until accepted (A) or rejected (R)
    this.screen.redraw(region);
    if (region.source === "suggestion" || (!region.id && !region.busy)) return; // a draft, or not stored yet
    void this.saver.change(region, changes, before);
  }

  /** Take a region off the screen (deleted, refused, an abandoned drawing). */
  drop(region: Region): void {
    this.regions = this.regions.filter((r) => r !== region);
    if (this.selected === region) this.selected = null;
    this.screen.dropped(region);
    this.screen.relayout();
  }

  /** Put back a region taken off the screen by a change the server refused, or by an undo. */
  restore(region: Region): void {
    if (!this.regions.includes(region)) this.regions = [...this.regions, region].sort((a, b) => a.start - b.start || a.key - b.key);
    this.screen.relayout();
  }

  private delete(region: Region): void {
    this.drop(region);
    void this.saver.remove(region);
  }

  private recreate(region: Region): void {
    Object.assign(region, { id: null, version: null, error: "" });
    this.restore(region);
    void this.saver.create(region);
  }

  remove(region: Region): void {
    if (!this.editable(region)) return;
    this.delete(region);
    this.history.record({ what: "deletion", undo: () => this.recreate(region), redo: () => this.delete(region) });
  }

  /** Accept or reject a suggestion; Ctrl+Z brings it back as it was suggested (src/saving.ts `unreview`). */
  review(region: Region, verdict: "accept" | "reject"): void {
    if (region.source !== "suggestion" || !region.id) {
      this.screen.say("A and R accept or reject a machine suggestion; this is a person's annotation.");
      return;
    }
    const [suggested, origin] = [region.suggested, region.origin];
    const taking = { start: region.start, end: region.end, tags: [...region.tags], text: region.text }; // as changed here
    void this.decide(region, verdict).then((taken) => {
      if (!taken || !suggested) return;
      this.history.record({ what: verdict === "accept" ? "acceptance" : "rejection",
        undo: () => void this.saver.unreview(region, suggested, origin, verdict === "accept"),
        redo: () => { Object.assign(region, taking, { tags: [...taking.tags] }); void this.decide(region, verdict); } });
    });
  }

  /** Send a verdict on a suggestion; whether it was taken. */
  private decide(region: Region, verdict: "accept" | "reject"): Promise<boolean> {
    if (verdict === "reject") this.drop(region);
    return this.saver.review(region, verdict).then((taken) => {
      if (taken) this.screen.relayout();
      else this.screen.redraw(region);
      return taken;
    });
  }

  /** Add `tag` to the selected region, or take it off (`on`: only add). The first tag of a new drawing stores it.
   * Whether a region took the tag. */
  label(tag: string, on = false): boolean {
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
  dropUntagged(): void {
    if (!this.selected || !untagged(this.selected)) return;
    this.select(null);
    this.screen.say("");
  }

  undo(redo: boolean): void {
    const step = redo ? this.history.redo() : this.history.undo();
    this.screen.say(step ? `${redo ? "Redone" : "Undone"}: ${step.what}.` : `Nothing to ${redo ? "redo" : "undo"}.`);
  }
}

/** A drawing not stored yet because it has no tag (on a dataset with no tags, the first region waits for one). */
function untagged(region: Region): boolean {
  return !region.id && !region.busy && !region.tags.length;
}
