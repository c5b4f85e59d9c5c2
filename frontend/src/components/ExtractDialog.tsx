// Asks the name of the composite a selection is turned into ("Make composite", Ctrl+G).
import { useEffect, useState } from "react";
import { Button, Form, Modal } from "react-bootstrap";

export function ExtractDialog({ count, onAnswer }: { count: number | null; onAnswer: (name: string | null) => void }) {
  const [name, setName] = useState("");
  useEffect(() => { if (count !== null) setName(""); }, [count]);
  const submit = () => name.trim() && onAnswer(name.trim());
  return (
    <Modal show={count !== null} onHide={() => onAnswer(null)}>
      <Modal.Header closeButton><Modal.Title>Make a composite</Modal.Title></Modal.Header>
      <Modal.Body>
        <Form id="extract-form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
          <Form.Label className="small mb-0">Name of the new graph</Form.Label>
          <Form.Control size="sm" autoFocus value={name} maxLength={200} data-testid="extract-name"
                        onChange={(e) => setName(e.target.value)} placeholder="e.g. web-switch" />
          <Form.Text>
            The {count} selected node{count === 1 ? "" : "s"} are saved as a graph of their own: the wires
            entering them become its inputs, those leaving them its outputs. One node of it takes their place.
          </Form.Text>
        </Form>
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={() => onAnswer(null)}>Cancel</Button>
        <Button type="submit" form="extract-form" disabled={!name.trim()} data-testid="extract-submit">Make composite</Button>
      </Modal.Footer>
    </Modal>
  );
}
