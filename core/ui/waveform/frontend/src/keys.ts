// The keyboard: which keys the waveform takes, and when. Keys act on the waveform when the pointer is over it,
// when the focus is inside it, or when it is the only waveform on the page, so nobody has to click it first;
// never while someone types in a field outside it. Pure; tested in test/keys.test.ts.

/** What a key press asks of the waveform. */
export type Command =
  | "zoom-in" | "zoom-out" | "left" | "right" | "play" | "loop" | "deselect" | "delete" | "text" | "accept"
  | "reject" | "mark-start" | "mark-end" | "undo" | "redo" | "done" | "take" | { tag: number };

export interface Press {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

const PLAIN: Record<string, Command> = {
  i: "zoom-in", o: "zoom-out", arrowleft: "left", arrowright: "right", " ": "play", l: "loop", escape: "deselect",
  delete: "delete", backspace: "delete", enter: "text", a: "accept", r: "reject", "[": "mark-start", "]": "mark-end",
  d: "done", g: "take", // D: this sound is done (an assigned sound); G: take the chosen regions into gold (review)
};

/** The command a key press means on the waveform, or null (the browser's and the page's own keys). */
export function commandOf(press: Press): Command | null {
  const key = press.key.toLowerCase();
  if (press.ctrlKey || press.metaKey) {
    if (key === "z") return press.shiftKey ? "redo" : "undo";
    if (key === "y" && !press.shiftKey) return "redo";
    return null;
  }
  if (press.altKey) return null;
  if (/^[1-9]$/.test(key)) return { tag: Number(key) - 1 };
  return PLAIN[key] ?? null;
}

/** Whether an element takes typing of its own (a field, a list, an editable text, a button for Space/Enter). */
export function typesItself(tag: string, editable: boolean): boolean {
  return editable || ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(tag.toUpperCase());
}

export interface Where {
  onBox: boolean; // the key went to the waveform itself (it has the focus)
  targetTypes: boolean; // the key went to a field or a button (the component's own text fields too)
  pointerOver: boolean; // the pointer is over the waveform
  onlyOne: boolean; // the page has no other waveform
}

/** Whether the waveform takes a key press: a field keeps its typing; otherwise where the person is. */
export function takesKeys(where: Where): boolean {
  if (where.onBox) return true;
  if (where.targetTypes) return false;
  return where.pointerOver || where.onlyOne;
}
