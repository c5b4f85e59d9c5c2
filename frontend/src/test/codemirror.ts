import { act } from "@testing-library/react";
import { EditorView } from "@codemirror/view";

/** Type into a CodeMirror editor as a person would (the whole text, as one typed change). */
export function typeCode(content: HTMLElement, text: string) {
  const view = EditorView.findFromDOM(content)!;
  act(() => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, userEvent: "input.type" }));
}
