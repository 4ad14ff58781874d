import { describe, expect, it } from "vitest";
import { ActiveClock, IDLE_SECONDS, REPORT_SECONDS } from "../src/activity";

const S = 1000;

describe("active time", () => {
  it("counts time after input up to the idle limit, not the time the page stays open", () => {
    const clock = new ActiveClock(0);
    clock.tick(0, false, true);
    clock.touch(0);
    for (let t = 1; t <= 600; t++) clock.tick(t * S, false, true); // ten minutes open, one touch at the start
    expect(clock.take(600 * S)).toBe(IDLE_SECONDS);
    expect(clock.take(700 * S)).toBe(0); // nothing since
  });

  it("counts listening without input, and nothing while the page is hidden", () => {
    const clock = new ActiveClock(0);
    clock.tick(0, false, true);
    for (let t = 1; t <= 100; t++) clock.tick(t * S, true, true);
    for (let t = 101; t <= 200; t++) clock.tick(t * S, true, false);
    expect(clock.take(200 * S)).toBe(100);
  });

  it("reports at most every REPORT_SECONDS unless forced, whole seconds, keeping the rest", () => {
    const clock = new ActiveClock(0);
    clock.tick(0, false, true);
    clock.touch(0);
    clock.tick(2.5 * S, false, true);
    expect(clock.take(2.5 * S)).toBe(0); // too soon
    expect(clock.take(2.5 * S, true)).toBe(2);
    clock.touch(2.5 * S);
    clock.tick(3 * S, false, true);
    expect(clock.take((REPORT_SECONDS + 3) * S)).toBe(1); // 0.5 kept + 0.5
  });

  it("a long gap between ticks (a sleeping laptop) counts only up to the idle limit after the last input", () => {
    const clock = new ActiveClock(0);
    clock.tick(0, false, true);
    clock.touch(0);
    clock.tick(3600 * S, false, true);
    expect(clock.take(3600 * S)).toBe(IDLE_SECONDS);
  });
});
