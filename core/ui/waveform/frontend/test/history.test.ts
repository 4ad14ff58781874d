import { describe, expect, it } from "vitest";
import { History, HISTORY_LIMIT } from "../src/history";

describe("history", () => {
  it("undoes the last change, redoes it, and forgets what was undone once something new is done", () => {
    const log: string[] = [];
    const history = new History();
    const step = (name: string) => ({ what: name, undo: () => log.push(`undo ${name}`), redo: () => log.push(`redo ${name}`) });
    history.record(step("a"));
    history.record(step("b"));
    expect(history.undo()?.what).toBe("b");
    expect(history.undo()?.what).toBe("a");
    expect(history.undo()).toBeNull();
    expect(history.redo()?.what).toBe("a");
    history.record(step("c"));
    expect(history.redo()).toBeNull();
    expect(log).toEqual(["undo b", "undo a", "redo a"]);
    expect(history.size).toEqual({ undo: 2, redo: 0 });
  });

  it("keeps at most HISTORY_LIMIT steps", () => {
    const history = new History();
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) history.record({ what: String(i), undo: () => {}, redo: () => {} });
    expect(history.size.undo).toBe(HISTORY_LIMIT);
  });
});
