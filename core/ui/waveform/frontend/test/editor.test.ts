import { describe, expect, it } from "vitest";
import { type Stored } from "../src/api";
import { Editor, type Screen } from "../src/editor";
import { newRegion, type Region } from "../src/regions";
import { Saver, type Calls } from "../src/saving";

/** An API that stores what it is sent and answers as the server would (ids, versions). */
function server(): Calls & { sent: string[] } {
  let version = 0;
  const sent: string[] = [];
  return {
    sent,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      sent.push(`${method} ${path} ${JSON.stringify(body ?? null)}`);
      const b = (body ?? {}) as Record<string, unknown>;
      if (method === "DELETE") return null as T;
      const stored: Stored = { id: method === "POST" ? `a${sent.length}` : path.split("/")[2], version: ++version,
        start_seconds: (b.start_seconds as number) ?? 1, end_seconds: (b.end_seconds as number) ?? 2,
        tags: (b.tags as string[]) ?? ["x"], text: (b.text as string) ?? "" };
      return stored as T;
    },
  };
}

function editing() {
  const api = server();
  const said: string[] = [];
  let asked = 0;
  const screen: Screen = { relayout: () => {}, reposition: () => {}, redraw: () => {}, askTag: () => { asked++; },
    dropped: () => {}, say: (m) => said.push(m) };
  const editor: Editor = new Editor(new Saver(api, { redraw: () => {}, drop: (r) => editor.drop(r), restore: (r) => editor.restore(r),
    say: (m) => said.push(m), saved: () => {} }, () => ({ id: "s1", channel: null })), screen);
  return { api, editor, said, asked: () => asked };
}

const settle = () => new Promise((done) => setTimeout(done, 0));

describe("editing", () => {
  it("undoes a move by saving the old bounds, and redoes it", async () => {
    const { api, editor } = editing();
    const region = newRegion(1, 2, ["x"]);
    editor.made(region);
    await settle();
    Object.assign(region, { start: 3, end: 4 });
    editor.moved(region, { start: 1, end: 2 });
    await settle();
    editor.undo(false);
    await settle();
    expect([region.start, region.end]).toEqual([1, 2]);
    editor.undo(true);
    await settle();
    expect(api.sent.map((s) => s.split(" ").slice(0, 2).join(" "))).toEqual(
      ["POST /sounds/s1/annotations", "PATCH /annotations/a1", "PATCH /annotations/a1", "PATCH /annotations/a1"]);
    expect(api.sent[2]).toContain('"start_seconds":1,"end_seconds":2');
    expect([region.start, region.end]).toEqual([3, 4]);
  });

  it("undoes a drawing by deleting it, and a deletion by storing it again", async () => {
    const { api, editor } = editing();
    const region = newRegion(1, 2, ["x"]);
    editor.made(region);
    await settle();
    editor.undo(false);
    await settle();
    expect(editor.regions).toEqual([]);
    editor.undo(true);
    await settle();
    expect(editor.regions).toEqual([region]);
    expect(api.sent.map((s) => s.split(" ")[0])).toEqual(["POST", "DELETE", "POST"]);
  });

  it("keeps a drawing with no tag until it gets one (a dataset with no tags yet), then stores it", async () => {
    const { api, editor, asked } = editing();
    const region = newRegion(1, 2, []);
    editor.made(region);
    expect([asked(), api.sent.length, editor.selected === region]).toEqual([1, 0, true]);
    expect(editor.label("speech", true)).toBe(true);
    await settle();
    expect(api.sent[0]).toContain('"tags":["speech"]');
    const other = newRegion(3, 4, []);
    editor.made(other);
    editor.dropUntagged();
    expect(editor.regions).toEqual([region]);
  });

  it("refuses to change another person's region, saying why", () => {
    const { api, editor, said } = editing();
    const theirs: Region = { ...newRegion(1, 2, ["x"]), id: "b1", version: 1, mine: false, local: false };
    editor.regions.push(theirs);
    editor.change(theirs, { start: 0 });
    expect([theirs.start, api.sent.length, said.at(-1)]).toEqual([1, 0, "Only its author or an administrator can change this annotation."]);
  });
});
