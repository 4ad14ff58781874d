// Earmark's waveform component for Streamlit (st.components.v2): Streamlit calls the default export with the
// component's element and the page's data on every run; one Waveform lives per element across runs, and the
// function returned is Streamlit's cleanup when it unmounts the component.

import { Waveform, type Data } from "./waveform";

type Host = (HTMLElement | ShadowRoot) & { __earmark?: Waveform };

interface Args {
  parentElement: HTMLElement | ShadowRoot;
  data: Data;
  setTriggerValue: (name: string, value: unknown) => void;
}

export default function ({ parentElement, data, setTriggerValue }: Args): () => void {
  const root = parentElement as Host;
  root.__earmark ??= new Waveform(root, (why, value) => setTriggerValue(why, value ?? Date.now()));
  root.__earmark.update(data);
  // Streamlit may also call a run's cleanup when a newer run replaces it: only a component taken off the page is
  // disposed of (checked once React has removed it).
  return () => window.setTimeout(() => {
    const element = root instanceof ShadowRoot ? root.host : root;
    if (element.isConnected || !root.__earmark) return;
    root.__earmark.dispose();
    delete root.__earmark;
  });
}
