import { describe, expect, it } from "vitest";
import { commandOf, takesKeys, typesItself } from "../src/keys";

const press = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) =>
  ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

describe("keys", () => {
  it("mean commands, digits a tag, Ctrl+Z undo and Ctrl+Shift+Z redo", () => {
    expect(commandOf(press("i"))).toBe("zoom-in");
    expect(commandOf(press("I"))).toBe("zoom-in");
    expect(commandOf(press("ArrowLeft"))).toBe("left");
    expect(commandOf(press("3"))).toEqual({ tag: 2 });
    expect(commandOf(press("["))).toBe("mark-start");
    expect(commandOf(press("z", { ctrlKey: true }))).toBe("undo");
    expect(commandOf(press("Z", { ctrlKey: true, shiftKey: true }))).toBe("redo");
    expect(commandOf(press("z", { metaKey: true, shiftKey: true }))).toBe("redo");
    expect(commandOf(press("c", { ctrlKey: true }))).toBeNull(); // the browser's copy
    expect(commandOf(press("i", { altKey: true }))).toBeNull();
    expect(commandOf(press("n"))).toBeNull(); // the page's "next sound"
    expect(commandOf(press("d"))).toBe("done"); // an assigned sound submitted
    expect(commandOf(press("g"))).toBe("take"); // review: the chosen regions into gold
  });

  it("act where the pointer is, or on the only waveform, never while a field outside takes typing", () => {
    const base = { onBox: false, targetTypes: false, pointerOver: false, onlyOne: false };
    expect(takesKeys({ ...base, pointerOver: true })).toBe(true);
    expect(takesKeys({ ...base, onlyOne: true })).toBe(true);
    expect(takesKeys({ ...base })).toBe(false);
    expect(takesKeys({ ...base, onlyOne: true, pointerOver: true, targetTypes: true })).toBe(false);
    expect(takesKeys({ ...base, onBox: true })).toBe(true);
    expect(typesItself("input", false)).toBe(true);
    expect(typesItself("DIV", true)).toBe(true);
    expect(typesItself("BODY", false)).toBe(false);
  });
});
