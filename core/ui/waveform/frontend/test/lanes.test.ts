import { describe, expect, it } from "vitest";
import { layoutLanes, MAX_LANES, place } from "../src/lanes";
import { newRegion, type Region } from "../src/regions";

const region = (start: number, end: number, source: "human" | "suggestion" = "human"): Region =>
  ({ ...newRegion(start, end, ["x"]), source });

describe("lanes", () => {
  it("put regions that do not overlap in one lane, and an overlapping one in the next", () => {
    const [a, b, c] = [region(0, 2), region(3, 4), region(1, 5)];
    const layout = layoutLanes([a, b, c]);
    expect([layout.lane.get(a.key), layout.lane.get(b.key), layout.lane.get(c.key)]).toEqual([0, 0, 1]);
    expect(layout.rows).toBe(2);
  });

  it("keep suggestions in lanes of their own, under people's", () => {
    const [person, machine] = [region(0, 10), region(0, 10, "suggestion")];
    const layout = layoutLanes([machine, person]);
    expect(layout.lane.get(person.key)).toBe(0);
    expect(layout.lane.get(machine.key)).toBe(1);
    expect([layout.humanRows, layout.rows]).toEqual([1, 2]);
  });

  it("always leave one lane for people's regions, and cap the lanes", () => {
    expect(layoutLanes([]).rows).toBe(1);
    const many = Array.from({ length: 10 }, () => region(0, 1));
    const layout = layoutLanes(many);
    expect(layout.rows).toBe(MAX_LANES.human);
    expect(Math.max(...many.map((r) => layout.lane.get(r.key) as number))).toBe(MAX_LANES.human - 1);
  });

  it("lay out 10,000 regions in one pass", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => region(i, i + 1.5, i % 5 ? "suggestion" : "human"));
    const layout = layoutLanes(many);
    expect(layout.lane.size).toBe(10_000);
    expect(layout.rows).toBe(3); // 1.5-s regions every second: two lanes of suggestions, people's every 5 s: one
  });
});

describe("placing one region", () => {
  it("takes the first lane where nothing overlaps it, and opens a lane above the suggestions' when none is free", () => {
    const [a, b, s] = [region(0, 2), region(5, 6), region(0, 9, "suggestion")];
    const layout = layoutLanes([a, b, s]);
    expect([layout.rows, layout.lane.get(s.key)]).toEqual([2, 1]);
    const c = region(5.5, 7);
    place(layout, c, [a, b, s, c]);
    expect(layout.lane.get(c.key)).toBe(1); // under b
    expect([layout.humanRows, layout.rows, layout.lane.get(s.key)]).toEqual([2, 3, 2]);
    const d = region(3, 4);
    place(layout, d, [a, b, s, c, d]);
    expect(layout.lane.get(d.key)).toBe(0); // a gap in the first lane
  });
});
