import { describe, expect, it } from "vitest";
import { clampView, fractionOf, MIN_VIEW_SECONDS, shiftView, ticks, timeAt, timeLabel, wheelFactor, zoomView } from "../src/timeline";

describe("views", () => {
  it("stay inside the sound and at least MIN_VIEW_SECONDS wide", () => {
    expect(clampView(-5, 10, 60)).toEqual({ start: 0, end: 15 });
    expect(clampView(55, 70, 60)).toEqual({ start: 45, end: 60 });
    expect(clampView(0, 100, 60)).toEqual({ start: 0, end: 60 });
    const narrow = clampView(10, 10.001, 60);
    expect(narrow.end - narrow.start).toBeCloseTo(MIN_VIEW_SECONDS);
  });

  it("zoom around a time that stays where it is on screen", () => {
    const view = { start: 0, end: 60 };
    const zoomed = zoomView(view, 0.5, 45, 60);
    expect(zoomed).toEqual({ start: 22.5, end: 52.5 });
    expect(fractionOf(zoomed, 45)).toBeCloseTo(fractionOf(view, 45));
    expect(zoomView(zoomed, 2, 45, 60)).toEqual({ start: 0, end: 60 });
  });

  it("zoom a 3-hour sound from whole to a second in twelve or so steps", () => {
    let view = { start: 0, end: 3 * 3600 };
    let steps = 0;
    while (view.end - view.start > 1) {
      view = zoomView(view, 0.5, 5000, 3 * 3600);
      steps++;
    }
    expect(steps).toBe(14);
    expect(view.start).toBeLessThanOrEqual(5000);
    expect(view.end).toBeGreaterThanOrEqual(5000);
  });

  it("scroll by a fraction of their length, stopping at the ends", () => {
    expect(shiftView({ start: 10, end: 20 }, 0.2, 60)).toEqual({ start: 12, end: 22 });
    expect(shiftView({ start: 1, end: 11 }, -0.2, 60)).toEqual({ start: 0, end: 10 });
    expect(shiftView({ start: 50, end: 60 }, 0.2, 60)).toEqual({ start: 50, end: 60 });
  });

  it("map x to time linearly, clamped to the box", () => {
    const view = { start: 15, end: 45 };
    expect(timeAt(view, 0)).toBe(15);
    expect(timeAt(view, 0.5)).toBe(30);
    expect(timeAt(view, 1.5)).toBe(45);
    expect(fractionOf(view, 60)).toBe(1.5);
  });

  it("turn a wheel notch into 1.25x and a pinch into a proportional zoom", () => {
    expect(wheelFactor(-100, false)).toBeCloseTo(0.8);
    expect(wheelFactor(100, false)).toBeCloseTo(1.25);
    expect(wheelFactor(-10, true)).toBeCloseTo(Math.exp(-0.1));
    expect(wheelFactor(5000, true)).toBeCloseTo(Math.E); // one event never zooms by more than e
  });
});

describe("the ruler", () => {
  it("puts labels at round steps at least 90 px apart", () => {
    expect(ticks({ start: 0, end: 60 }, 1200)).toEqual({ step: 5, times: [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60] });
    const fine = ticks({ start: 5000.03, end: 5000.9 }, 1000);
    expect(fine.step).toBeCloseTo(0.1);
    expect(fine.times.length).toBe(9); // 5000.1 to 5000.9
    expect(ticks({ start: 0, end: 3 * 3600 }, 1200).step).toBe(1000);
  });

  it("labels seconds, minutes and hours", () => {
    expect(timeLabel(5, 5)).toBe("5 s");
    expect(timeLabel(2.5, 0.5)).toBe("2.5 s");
    expect(timeLabel(75, 5)).toBe("1:15");
    expect(timeLabel(5000.2, 0.1)).toBe("1:23:20.2");
    expect(timeLabel(7200, 1000)).toBe("2:00:00");
  });
});
