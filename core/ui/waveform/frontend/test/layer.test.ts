import { describe, expect, it } from "vitest";
import { MAX_ELEMENTS, splitRegions } from "../src/layer";
import { newRegion } from "../src/regions";

describe("which regions get elements", () => {
  it("only those in the view, wide enough at this zoom; the rest are painted", () => {
    const [wide, narrow, outside] = [newRegion(10, 20, []), newRegion(30, 30.01, []), newRegion(200, 210, [])];
    const split = splitRegions([wide, narrow, outside], { start: 0, end: 100 }, 1000);
    expect(split.elements).toEqual([wide]);
    expect(split.painted).toEqual([narrow]);
  });

  it("the selected one always, and never more than MAX_ELEMENTS", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => newRegion(i, i + 0.9, []));
    const whole = splitRegions(many, { start: 0, end: 10_800 }, 1200, new Set([many[5]]));
    expect(whole.elements).toEqual([many[5]]);
    expect(whole.painted.length).toBe(9_999);
    const close = splitRegions(many, { start: 0, end: 10_000 }, 100_000);
    expect(close.elements.length).toBe(MAX_ELEMENTS);
  });
});
