// A code editor (CodeMirror 6) for one YAML/JSON value; loaded only when a form needs one.
import { useEffect, useMemo, useRef, useState } from "react";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { linter, type Diagnostic } from "@codemirror/lint";
import { parseCode, showCode, type Expect } from "../lib/codeValue";

interface Props {
  id: string;
  label: string;
  value: unknown;
  /** Text typed before that did not parse (the form was closed meanwhile): shown instead of the value. */
  draft?: string;
  expect: Expect;
  disabled: boolean;
  onValue: (value: unknown) => void;
  onError: (error: string | null, text?: string) => void;
}

const SETUP = { lineNumbers: false, foldGutter: false, highlightActiveLine: false, autocompletion: false };

export default function CodeEditor({ id, label, value, draft, expect, disabled, onValue, onError }: Props) {
  const [text, setText] = useState(() => draft ?? showCode(value));
  const first = useRef(true);
  // A new value from outside (undo, say): shown as it is now.
  useEffect(() => {
    if (first.current) return void (first.current = false);
    setText(showCode(value));
    onError(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const extensions = useMemo(() => [
    yaml(),
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ id, "aria-label": label }),
    linter((view): Diagnostic[] => {
      const found = parseCode(view.state.doc.toString(), expect);
      if (!found.error) return [];
      const end = view.state.doc.length;
      const from = Math.min(found.from ?? 0, end);
      return [{ from, to: Math.min(Math.max(found.to ?? end, from), end), severity: "error", message: found.error }];
    }, { delay: 150 }),
  ], [id, label, expect]);
  const change = (t: string) => {
    setText(t);
    const found = parseCode(t, expect);
    onError(found.error ? `${found.error} (not applied: fix it, the node keeps its last valid value meanwhile)` : null, t);
    if (!found.error) onValue(found.value);
  };
  return (
    <CodeMirror className="nbx-code form-control p-0" value={text} onChange={change} extensions={extensions}
                basicSetup={SETUP} editable={!disabled} readOnly={disabled} indentWithTab={false}
                minHeight="3.2em" maxHeight="16em" />
  );
}
