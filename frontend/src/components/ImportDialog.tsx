import { useState, type ChangeEvent } from "react";
import { Alert, Button, Form, Modal } from "react-bootstrap";
import { parseGraph } from "../lib/graphDoc";
import type { GraphDoc } from "../types";

interface Props {
  show: boolean;
  onHide: () => void;
  /** Replace the canvas, or add the document's nodes to it. */
  onImport: (doc: GraphDoc, mode: "replace" | "add") => void;
}

export function ImportDialog({ show, onHide, onImport }: Props) {
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<string[]>([]);
  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) setText(await file.text());
  };
  const go = (mode: "replace" | "add") => {
    const { doc, errors: found } = parseGraph(text);
    setErrors(found);
    if (doc) {
      onImport(doc, mode);
      setText("");
    }
  };
  const close = () => {
    setErrors([]);
    onHide();
  };
  return (
    <Modal show={show} onHide={close} size="lg">
      <Modal.Header closeButton><Modal.Title>Import JSON</Modal.Title></Modal.Header>
      <Modal.Body>
        <Form.Group className="mb-2">
          <Form.Label>From a file</Form.Label>
          <Form.Control type="file" accept=".json,application/json" onChange={onFile} data-testid="import-file" />
        </Form.Group>
        <Form.Group>
          <Form.Label>Or paste a graph document</Form.Label>
          <Form.Control as="textarea" rows={12} value={text} spellCheck={false} className="font-monospace small"
                        onChange={(e) => setText(e.target.value)} data-testid="import-text" />
        </Form.Group>
        {errors.length > 0 && (
          <Alert variant="danger" className="mt-2 small mb-0" data-testid="import-errors">
            Nothing was imported:
            <ul className="mb-0">{errors.map((e, i) => <li key={i}>{e}</li>)}</ul>
          </Alert>
        )}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={close}>Cancel</Button>
        <Button variant="outline-primary" onClick={() => go("add")} disabled={!text.trim()}>Add to canvas</Button>
        <Button onClick={() => go("replace")} disabled={!text.trim()} data-testid="import-replace">Replace graph</Button>
      </Modal.Footer>
    </Modal>
  );
}
