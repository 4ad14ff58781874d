// The tag palette above the waveform: the dataset's tags in the order they were made (key 1-9 for the first
// nine), the one new regions get, and a box to type a new tag.

import { cleanTag } from "./regions";

export interface PaletteHost {
  color(tag: string): string;
  clicked(tag: string): void; // a tag's button
  typed(tag: string): void; // a new tag typed and Enter pressed
  escaped(): void; // Esc in the tag box
  say(message: string): void;
}

export class Palette {
  current: string | null = null; // the tag new regions get
  private extra: string[] = []; // typed here, not yet in the page's data

  private readonly chips = element("span", { class: "chips" });
  private readonly input = element("input", { class: "new-tag", placeholder: "new tag ↵", "aria-label": "New tag", maxlength: "100" });
  private given: string[] = [];

  /** The tag box is made once and kept: redrawing the chips (a page run, a tag kept) never takes what is being
   * typed, or the focus, away from it. */
  constructor(box: HTMLElement, private readonly host: PaletteHost) {
    this.input.addEventListener("keydown", (event) => this.key(event));
    box.replaceChildren(this.chips, this.input);
  }

  /** The palette's tags: the page's (in the order people made them), then those typed here. */
  tags(given: string[]): string[] {
    return [...given, ...this.extra.filter((t) => !given.includes(t))];
  }

  /** Keep the current tag one of `tags` (the first, if it is gone), and draw the buttons. */
  draw(given: string[]): void {
    this.given = given;
    const tags = this.tags(given);
    if (!this.current || !tags.includes(this.current)) this.current = tags[0] ?? null;
    const buttons = tags.map((tag, i) => {
      const button = element("button", { "data-testid": "earmark-tag", "data-tag": tag, type: "button",
        title: i < 9 ? `Key ${i + 1}: new regions get this tag; on a selected region, adds or removes it` : "" },
      i < 9 ? `${i + 1} ${tag}` : tag);
      button.className = tag === this.current ? "current" : "";
      button.style.setProperty("--tag-color", this.host.color(tag));
      button.addEventListener("click", () => this.host.clicked(tag));
      return button;
    });
    this.chips.replaceChildren(...buttons);
  }

  /** The tag box takes the cursor (a new region waits for its first tag). */
  focus(): void {
    this.input.focus();
  }

  private key(event: KeyboardEvent): void {
    const [typed, given] = [this.input, this.given];
    event.stopPropagation(); // typing here is typing, not the waveform's keys
    if (event.key === "Escape") return this.host.escaped();
    if (event.key !== "Enter") return;
    const tag = cleanTag(typed.value);
    if (!tag) return;
    if (/[;,]/.test(tag)) return this.host.say("A tag must not contain ';' or ','.");
    if (!this.tags(given).includes(tag)) this.extra.push(tag);
    typed.value = "";
    this.host.typed(tag);
  }

  forget(): void {
    this.extra = [];
  }
}

/** An element with attributes and text (never HTML: tags are people's input). */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text = ""): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  made.textContent = text;
  return made;
}
