// Earmark's waveform component for Streamlit (st.components.v2): Streamlit calls the default export with the
// component's element and the page's data on every run; one Waveform lives per element across runs.

import { Waveform, type Data } from "./waveform";

type Host = HTMLElement & { __earmark?: Waveform };

interface Args {
  parentElement: HTMLElement | ShadowRoot;
  data: Data;
  setTriggerValue: (name: string, value: unknown) => void;
}

export default function ({ parentElement, data, setTriggerValue }: Args): void {
  const root = parentElement as Host;
  root.__earmark ??= new Waveform(root, (why) => setTriggerValue(why, Date.now()));
  root.__earmark.update(data);
}
