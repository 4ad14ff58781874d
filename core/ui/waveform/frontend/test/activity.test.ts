import { describe, expect, it } from "vitest";
import { ActiveClock, IDLE_SECONDS, leave, REPORT_SECONDS } from "../src/activity";
import { Api } from "../src/api";

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

  it("leaving a sound sends every second not reported yet, fractions too, for that sound and no other", () => {
    const clock = new ActiveClock(0);
    const sent: [string, number][] = [];
    const send = (id: string, seconds: number) => sent.push([id, seconds]);
    clock.tick(0, false, true);
    clock.touch(0);
    for (let t = 1; t <= 40; t++) clock.tick(t * S, false, true);
    expect(clock.take(40 * S)).toBe(40); // the 30 s report (a page run)
    clock.touch(40 * S);
    for (let t = 41; t <= 52; t++) clock.tick(t * S, false, true);
    // 12.4 s later the person opens another sound without Done: the time up to that moment goes with sound A
    expect(leave(clock, 52.4 * S, false, "A", true, send)).toBeCloseTo(12.4, 3);
    expect(sent).toEqual([["A", 12.4]]);
    expect(clock.take(100 * S, true)).toBe(0); // nothing of A is left to count on the next sound
    for (let t = 53; t <= 65; t++) clock.tick(t * S, false, true); // on B, still within a minute of the last input
    expect(leave(clock, 65 * S, false, "B", true, send)).toBeCloseTo(12.6, 3); // from leaving A, not from the start
    expect(sent.map(([id]) => id)).toEqual(["A", "B"]);
    expect(leave(clock, 65 * S, false, "B", true, send)).toBe(0); // a second leave (pagehide after hidden) sends nothing
    expect(sent).toHaveLength(2);
  });

  it("time on a sound that is not the person's work is dropped when leaving it, never counted on the next", () => {
    const clock = new ActiveClock(0);
    const sent: [string, number][] = [];
    clock.tick(0, false, true);
    clock.touch(0);
    for (let t = 1; t <= 20; t++) clock.tick(t * S, false, true);
    expect(leave(clock, 20 * S, false, "browsed", false, (id, s) => sent.push([id, s]))).toBe(0);
    clock.touch(20 * S);
    clock.tick(23 * S, false, true);
    expect(leave(clock, 23 * S, false, "mine", true, (id, s) => sent.push([id, s]))).toBe(3);
    expect(sent).toEqual([["mine", 3]]);
  });

  it("the seconds left go to the API as a keepalive POST with the page token, without waiting", async () => {
    const calls: [string, RequestInit][] = [];
    const real = globalThis.fetch;
    globalThis.fetch = ((url: string, init: RequestInit) => {
      calls.push([url, init]);
      return Promise.reject(new Error("offline")); // a failure is swallowed: the page is going away
    }) as typeof fetch;
    try {
      new Api("/api/v1", "tok").postAndForget("/my-work/A/time", { seconds: 12.4 });
      await Promise.resolve();
    } finally {
      globalThis.fetch = real;
    }
    expect(calls).toHaveLength(1);
    const [url, init] = calls[0];
    expect(url).toBe("/api/v1/my-work/A/time");
    expect(init.method).toBe("POST");
    expect(init.keepalive).toBe(true);
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(init.body as string)).toEqual({ seconds: 12.4 });
  });
});
