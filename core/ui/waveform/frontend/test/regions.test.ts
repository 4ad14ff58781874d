import { describe, expect, it } from "vitest";
import { cleanTag, dragged, fromServer, gripAt, mergeRegions, MIN_REGION_SECONDS, newRegion, toggleTag, type ServerRegion } from "../src/regions";

const stored = (id: string, start: number, end: number, version = 1, tags = ["bird"]): ServerRegion =>
  ({ id, start, end, tags, text: "", source: "human", bot: "", version, mine: true, origin: "" });

describe("grips", () => {
  it("take an edge within six pixels, the body between", () => {
    expect(gripAt(2, 100)).toBe("start");
    expect(gripAt(97, 100)).toBe("end");
    expect(gripAt(50, 100)).toBe("body");
  });

  it("leave a narrow region a middle to move it by", () => {
    expect(gripAt(4, 9)).toBe("body");
    expect(gripAt(1, 9)).toBe("start");
    expect(gripAt(8, 9)).toBe("end");
  });
});

describe("drags", () => {
  const region = { start: 10, end: 14 };
  it("move the body keeping the length, inside the sound", () => {
    expect(dragged("body", region, 5, 60)).toEqual({ start: 15, end: 19 });
    expect(dragged("body", region, -20, 60)).toEqual({ start: 0, end: 4 });
    expect(dragged("body", region, 100, 60)).toEqual({ start: 56, end: 60 });
  });

  it("resize by an edge, never past the other edge nor out of the sound", () => {
    expect(dragged("start", region, -2, 60)).toEqual({ start: 8, end: 14 });
    expect(dragged("start", region, 9, 60)).toEqual({ start: 14 - MIN_REGION_SECONDS, end: 14 });
    expect(dragged("end", region, 1.5, 60)).toEqual({ start: 10, end: 15.5 });
    expect(dragged("end", region, -9, 60)).toEqual({ start: 10, end: 10 + MIN_REGION_SECONDS });
    expect(dragged("end", region, 99, 60)).toEqual({ start: 10, end: 60 });
    expect(dragged("start", region, -99, 60)).toEqual({ start: 0, end: 14 });
  });
});

describe("tags", () => {
  it("toggle on and off keeping order", () => {
    expect(toggleTag(["a", "b"], "c")).toEqual(["a", "b", "c"]);
    expect(toggleTag(["a", "b", "c"], "b")).toEqual(["a", "c"]);
  });

  it("are cleaned as the server cleans them", () => {
    expect(cleanTag("  Dog   Bark ")).toBe("dog bark");
    expect(cleanTag("   ")).toBe("");
  });
});

describe("merging the page's data", () => {
  it("takes new regions and newer versions from the page", () => {
    const [a] = mergeRegions([], [stored("a", 1, 2)], new Set());
    const merged = mergeRegions([a], [stored("a", 1.5, 2.5, 2), stored("b", 5, 6)], new Set());
    expect(merged.map((r) => [r.id, r.start, r.version])).toEqual([["a", 1.5, 2], ["b", 5, 1]]);
    expect(merged[0]).toBe(a); // the same object: its element and selection stay
  });

  it("keeps what is being saved here over an older copy from the page", () => {
    const a = fromServer(stored("a", 1, 2, 3));
    a.busy = 1;
    a.start = 1.2;
    expect(mergeRegions([a], [stored("a", 1, 2, 3)], new Set())[0].start).toBe(1.2);
    a.busy = 0;
    a.version = 4; // saved here after the page last read it
    expect(mergeRegions([a], [stored("a", 1, 2, 3)], new Set())[0].start).toBe(1.2);
  });

  it("keeps a region made here until the page has it, and drops deleted ones", () => {
    const made = newRegion(3, 4, ["bird"]);
    made.id = "n";
    made.version = 1;
    const gone = fromServer(stored("g", 7, 8));
    const merged = mergeRegions([made, gone], [stored("g", 7, 8)], new Set(["g"]));
    expect(merged).toEqual([made]);
    const seen = mergeRegions(merged, [stored("n", 3, 4)], new Set());
    expect(seen).toEqual([made]);
    expect(made.local).toBe(false);
    expect(mergeRegions(seen, [], new Set())).toEqual([]); // someone deleted it since
  });

  it("keeps a suggestion's draft until it is accepted", () => {
    const s = fromServer({ ...stored("s", 1, 2), source: "suggestion", bot: "speech-activity" });
    s.draft = true;
    s.text = "typed";
    expect(mergeRegions([s], [{ ...stored("s", 1, 2), source: "suggestion", bot: "speech-activity" }], new Set())[0].text).toBe("typed");
  });
});
