// Undo and redo of the changes made on the waveform (Ctrl+Z, Ctrl+Shift+Z). A step is a pair of actions, each
// of which is saved like any other change when it is taken; the history only says which to take next. Pure;
// tested in test/history.test.ts.

export interface Step {
  what: string; // said to the person when it is undone or redone ("Undone: move")
  undo: () => void;
  redo: () => void;
}

/** How many steps are kept; the oldest go first. */
export const HISTORY_LIMIT = 200;

export class History {
  private done: Step[] = [];
  private undone: Step[] = [];

  /** A new change: it can be undone, and what was undone before it can no longer be redone. */
  record(step: Step): void {
    this.done.push(step);
    if (this.done.length > HISTORY_LIMIT) this.done.shift();
    this.undone = [];
  }

  undo(): Step | null {
    const step = this.done.pop();
    if (!step) return null;
    step.undo();
    this.undone.push(step);
    return step;
  }

  redo(): Step | null {
    const step = this.undone.pop();
    if (!step) return null;
    step.redo();
    this.done.push(step);
    return step;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
  }

  get size(): { undo: number; redo: number } {
    return { undo: this.done.length, redo: this.undone.length };
  }
}
