import { describe, expect, it } from "vitest";
import { ApiError, type Stored } from "../src/api";
import { newRegion, type Region } from "../src/regions";
import { Saver, type Calls } from "../src/saving";

/** A fake API: answers each call from `answers` in turn, recording what was sent. */
function fake(answers: (unknown | ApiError)[]): Calls & { sent: [string, string, unknown][] } {
  const sent: [string, string, unknown][] = [];
  return {
    sent,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      sent.push([method, path, body]);
      const answer = answers.shift();
      if (answer instanceof ApiError) throw answer;
      return answer as T;
    },
  };
}

const stored = (id: string, version: number, start = 1, end = 2): Stored =>
  ({ id, version, start_seconds: start, end_seconds: end, tags: ["a"], text: "" });

function saver(api: Calls) {
  const said: string[] = [];
  const dropped: Region[] = [];
  const restored: Region[] = [];
  const made = new Saver(api, { redraw: () => {}, drop: (r) => dropped.push(r), restore: (r) => restored.push(r),
    say: (m) => said.push(m), saved: () => {} }, () => ({ id: "s1", channel: null }));
  return { made, said, dropped, restored };
}

describe("saving", () => {
  it("sends a change after its creation is answered, with the version that answer gave", async () => {
    const api = fake([stored("a1", 1), stored("a1", 2, 1, 3)]);
    const { made } = saver(api);
    const region = newRegion(1, 2, ["a"]);
    void made.create(region);
    region.end = 3;
    await made.change(region, { end: 3 }, { end: 2 });
    expect(api.sent.map(([m, p]) => `${m} ${p}`)).toEqual(["POST /sounds/s1/annotations", "PATCH /annotations/a1"]);
    expect(api.sent[1][2]).toEqual({ end_seconds: 3, version: 1 });
    expect([region.version, region.end, region.busy, made.busy]).toEqual([2, 3, 0, false]);
  });

  it("puts back what was shown when a change is refused, and shows what someone else stored (409)", async () => {
    const api = fake([new ApiError("changed by bob", 409), stored("a1", 5, 1, 9)]);
    const { made, said } = saver(api);
    const region = { ...newRegion(1, 2, ["a"]), id: "a1", version: 4 };
    region.start = 1.5;
    await made.change(region, { start: 1.5 }, { start: 1 });
    expect([region.start, region.end, region.version]).toEqual([1, 9, 5]);
    expect(region.error).toBe("Not saved: changed by bob");
    expect(said.at(-1)).toBe("Not saved: changed by bob");
  });

  it("brings a region back when its deletion is refused, and says so when it was already gone", async () => {
    const refused = saver(fake([new ApiError("not yours", 403)]));
    const region = { ...newRegion(1, 2, ["a"]), id: "a1", version: 1 };
    await refused.made.remove(region);
    expect(refused.restored).toEqual([region]);
    expect(refused.made.deleted.has("a1")).toBe(false);
    const gone = saver(fake([new ApiError("deleted", 404)]));
    await gone.made.remove({ ...region });
    expect(gone.said.at(-1)).toBe("Already gone: deleted");
    expect(gone.restored).toEqual([]);
  });

  it("turns an accepted suggestion into the person's annotation", async () => {
    const { made } = saver(fake([stored("new", 1)]));
    const region: Region = { ...newRegion(1, 2, ["a"]), id: "s9", version: 1, source: "suggestion", bot: "vad", mine: false };
    expect(await made.review(region, "accept")).toBe(true);
    expect([region.id, region.source, region.mine, made.deleted.has("s9")]).toEqual(["new", "human", true, true]);
  });
});
