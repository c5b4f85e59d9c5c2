import { Modal, Table } from "react-bootstrap";

export const SHORTCUTS: [string, string][] = [
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z / Ctrl+Y", "Redo"],
  ["Ctrl+C / Ctrl+V", "Copy / paste the selected nodes"],
  ["Ctrl+A", "Select all nodes"],
  ["Delete / Backspace", "Delete the selection"],
  ["Ctrl+G", "Make a composite of the selected nodes"],
  ["Shift+click, Shift+drag", "Multi-select"],
  ["Ctrl+S", "Save (a new revision)"],
  ["Ctrl+O", "Open a graph"],
  ["Shift+L", "Automatic layout"],
  ["F", "Fit the view"],
  ["?", "This help"],
  ["Double-click a node's title", "Rename the node"],
];

export function HelpDialog({ show, onHide }: { show: boolean; onHide: () => void }) {
  return (
    <Modal show={show} onHide={onHide}>
      <Modal.Header closeButton><Modal.Title>Keyboard shortcuts</Modal.Title></Modal.Header>
      <Modal.Body>
        <Table size="sm" className="mb-2">
          <tbody>
            {SHORTCUTS.map(([k, what]) => <tr key={k}><td><kbd>{k}</kbd></td><td>{what}</td></tr>)}
          </tbody>
        </Table>
        <p className="small mb-0">
          Drag a brick from the palette onto the canvas. Wire an output (right) into an input (left);
          drag from the small bottom handle to another node's top handle to order two nodes without data.
        </p>
      </Modal.Body>
    </Modal>
  );
}
