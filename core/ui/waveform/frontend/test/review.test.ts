import { describe, expect, it } from "vitest";
import { newRegion, type Region } from "../src/regions";
import { disagreements, iou, layoutReview, matches, takeRequest } from "../src/review";

const by = (author: string, start: number, end: number, tags = ["speech"], extra: Partial<Region> = {}): Region =>
  ({ ...newRegion(start, end, tags), author, mine: false, local: false, id: `${author}-${start}`, version: 1, ...extra });

const people = [{ id: "a", name: "alice" }, { id: "b", name: "bob" }];

describe("review lanes", () => {
  it("give each person a labelled band, then gold, then suggestions", () => {
    const [a1, a2, b1] = [by("a", 0, 2), by("a", 1, 3), by("b", 0, 2)];
    const gold = by("r", 0, 2, ["speech"], { gold: true, mine: true });
    const machine = by("", 0, 5, ["x"], { source: "suggestion" });
    const layout = layoutReview([machine, gold, b1, a2, a1], people);
    expect(layout.groups.map((g) => [g.kind, g.label, g.first, g.rows])).toEqual([
      ["person", "alice", 0, 2], ["person", "bob", 2, 1], ["gold", "Gold", 3, 1], ["suggestion", "Suggestions", 4, 1]]);
    expect([layout.lane.get(a1.key), layout.lane.get(a2.key), layout.lane.get(b1.key)]).toEqual([0, 1, 2]);
    expect([layout.lane.get(gold.key), layout.lane.get(machine.key), layout.humanRows, layout.rows]).toEqual([3, 4, 4, 5]);
  });

  it("keep a band for a person with no regions, and add one for an author the page did not name", () => {
    const layout = layoutReview([by("c", 0, 1)], people);
    expect(layout.groups.map((g) => g.label)).toEqual(["alice", "bob", "c", "Gold"]);
  });
});

describe("disagreement", () => {
  it("IoU of spans", () => {
    expect(iou({ start: 0, end: 2 }, { start: 1, end: 3 })).toBeCloseTo(1 / 3);
    expect(iou({ start: 0, end: 1 }, { start: 1, end: 2 })).toBe(0);
    expect(iou({ start: 0, end: 4 }, { start: 0, end: 2 })).toBe(0.5);
  });

  it("marks a region with no match at IoU >= 0.5 with a shared tag in another person's lane, both ways", () => {
    const same = [by("a", 0, 2), by("b", 0.1, 2.1)]; // IoU 0.9: agree
    const partial = [by("a", 10, 12), by("b", 11, 13)]; // IoU 1/3: both marked
    const missed = [by("a", 20, 21)]; // bob has nothing there
    const otherTag = [by("a", 30, 31, ["music"]), by("b", 30, 31, ["speech"])];
    const split = [by("a", 40, 44), by("b", 40, 42), by("b", 42, 44)]; // each half has IoU 0.5 with the whole
    const all = [...same, ...partial, ...missed, ...otherTag, ...split];
    const marked = disagreements(all);
    const names = all.filter((r) => marked.has(r.key)).map((r) => r.id);
    expect(names).toEqual(["a-10", "b-11", "a-20", "a-30", "b-30"]);
  });

  it("leaves gold and suggestions out, and a single person has nothing to disagree with", () => {
    const gold = by("r", 50, 51, ["speech"], { gold: true });
    const machine = by("", 60, 61, ["speech"], { source: "suggestion" });
    expect(disagreements([by("a", 0, 1), gold, machine]).size).toBe(0);
  });

  it("compares 3 x 500 regions quickly enough to redraw on every change", () => {
    const many = ["a", "b", "c"].flatMap((who, p) => Array.from({ length: 500 }, (_, i) => by(who, i * 2 + p * 0.05, i * 2 + 1.5)));
    expect(disagreements(many).size).toBe(0);
    expect(matches(many[0], many[500])).toBe(true);
  });
});

describe("taking into gold", () => {
  it("asks for the stored people's regions, by start, leaving out gold, suggestions and unsaved drawings", () => {
    const regions = [by("b", 5, 6), by("a", 1, 2), by("r", 0, 1, [], { gold: true }),
      by("", 0, 1, [], { source: "suggestion" }), { ...by("a", 3, 4), id: null }];
    expect(takeRequest(regions)).toEqual({ ids: ["a-1", "b-5"] });
  });
});
