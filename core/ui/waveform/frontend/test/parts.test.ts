import { describe, expect, it } from "vitest";
import { pinchOf } from "../src/gestures";
import { looped } from "../src/playback";
import { pictureRequest } from "../src/spectrogram";

describe("pinch", () => {
  it("zooms in as the fingers spread, around their middle", () => {
    expect(pinchOf([100, 200], [50, 250])).toEqual({ factor: 0.5, centre: 150 });
    expect(pinchOf([50, 250], [100, 200]).factor).toBe(2);
  });
});

describe("loop", () => {
  it("comes back to the start past the end, or when sought well before it", () => {
    const loop = { start: 2, end: 4 };
    expect(looped(3, loop)).toBe(3);
    expect(looped(4, loop)).toBe(2);
    expect(looped(1, loop)).toBe(2);
    expect(looped(1.9, loop)).toBe(1.9); // a frame early: left alone
    expect(looped(9, null)).toBe(9);
  });
});

describe("spectrogram", () => {
  it("asks for the view's picture, or says to zoom in", () => {
    expect(pictureRequest("s1", { start: 1, end: 3 }, 1, 120)).toEqual({ path: "/sounds/s1/spectrogram?start=1.0000&end=3.0000&channel=1" });
    expect(pictureRequest("s1", { start: 0, end: 300 }, null, 120)).toEqual({ note: "Zoom in to 120 s or less to see the spectrogram." });
  });
});

describe("painting many regions", () => {
  it("merges the runs of one row and colour that touch, so overlaps do not darken and 10,000 regions are few rects", async () => {
    const { runs } = await import("../src/drawing");
    const span = (start: number, end: number, row = 0, color = "#f00") => ({ start, end, row, color, dashed: false });
    expect(runs([span(0, 10), span(5, 20), span(50, 60), span(0, 10, 1)], { start: 0, end: 100 }, 100)).toEqual([
      { left: 0, right: 20, row: 0, fill: "#f00" }, { left: 50, right: 60, row: 0, fill: "#f00" }, { left: 0, right: 10, row: 1, fill: "#f00" }]);
    const many = Array.from({ length: 10_000 }, (_, i) => span(i, i + 0.6));
    expect(runs(many, { start: 0, end: 10_800 }, 1200).length).toBe(1); // a second between regions: under a pixel
    expect(runs([span(5, 5)], { start: 0, end: 100 }, 100)[0].right).toBe(6); // at least a pixel
  });
});
