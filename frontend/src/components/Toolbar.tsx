import { Badge, Button, ButtonGroup, Dropdown, Navbar } from "react-bootstrap";
import { useCan } from "../hooks/useAuth";
import { SessionBadge } from "./SessionBadge";

export interface ToolbarProps {
  name: string;
  revision: number | null;
  readOnly: boolean;
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  problems: number;
  /** Hints on a valid graph (a rollout's missing order wires). */
  hints?: number;
  onAction: (action: ToolbarAction) => void;
}

export type ToolbarAction = "new" | "open" | "save" | "import" | "export" | "export-selection" | "undo"
  | "redo" | "layout" | "fit" | "run" | "help" | "problems" | "edit-latest" | "plan" | "releases" | "composite" | "snapshots"
  | "canary";

export function Toolbar({ name, revision, readOnly, dirty, canUndo, canRedo, problems, hints = 0, onAction }: ToolbarProps) {
  const can = useCan();
  const b = (action: ToolbarAction, label: string, opts: { title?: string; disabled?: boolean; variant?: string } = {}) => (
    <Button size="sm" variant={opts.variant ?? "outline-secondary"} onClick={() => onAction(action)}
            disabled={opts.disabled} title={opts.title} data-testid={`tb-${action}`}>{label}</Button>
  );
  return (
    <Navbar className="nbx-toolbar px-2 py-1 gap-2 border-bottom flex-wrap">
      <Navbar.Brand className="fs-6 fw-bold me-1">Nebh-X</Navbar.Brand>
      <span className="small text-truncate nbx-title" data-testid="graph-title">
        {name}{dirty && !readOnly ? " •" : ""}
        {revision !== null && <Badge bg="secondary" className="ms-1" data-testid="revision">rev {revision}</Badge>}
        {readOnly && <Badge bg="warning" text="dark" className="ms-1">read-only</Badge>}
      </span>
      <ButtonGroup>
        <Dropdown as={ButtonGroup}>
          {b("new", "New", { title: "An empty graph" })}
          <Dropdown.Toggle split size="sm" variant="outline-secondary" aria-label="More ways to start"
                           data-testid="tb-new-more" />
          <Dropdown.Menu>
            <Dropdown.Item onClick={() => onAction("new")}>Empty graph</Dropdown.Item>
            <Dropdown.Item onClick={() => onAction("canary")} data-testid="tb-canary">Canary update of my service…</Dropdown.Item>
          </Dropdown.Menu>
        </Dropdown>
        {b("open", "Open", { title: "Open a saved graph (Ctrl+O)" })}
        {readOnly ? b("edit-latest", "Open latest") : b("save", "Save", can("admin", "Save a new revision (Ctrl+S)"))}
      </ButtonGroup>
      <ButtonGroup>
        {b("import", "Import", can("admin", "Import a graph document"))}
        <Dropdown as={ButtonGroup}>
          {b("export", "Export", { title: "Download the graph as JSON" })}
          <Dropdown.Toggle split size="sm" variant="outline-secondary" aria-label="More export options" />
          <Dropdown.Menu>
            <Dropdown.Item onClick={() => onAction("export")}>Whole graph</Dropdown.Item>
            <Dropdown.Item onClick={() => onAction("export-selection")}>Selection only</Dropdown.Item>
          </Dropdown.Menu>
        </Dropdown>
      </ButtonGroup>
      <ButtonGroup>
        {b("undo", "Undo", { disabled: !canUndo || readOnly, title: "Ctrl+Z" })}
        {b("redo", "Redo", { disabled: !canRedo || readOnly, title: "Ctrl+Shift+Z" })}
        {b("layout", "Layout", { disabled: readOnly, title: "Automatic layout (Shift+L)" })}
        {b("fit", "Fit", { title: "Fit view (F)" })}
        {b("composite", "Make composite", readOnly ? { disabled: true } :
          can("admin", "Save the selected nodes as a composite graph and put one node of it in their place (Ctrl+G)"))}
      </ButtonGroup>
      <Button size="sm" variant={problems ? "outline-danger" : "outline-success"} onClick={() => onAction("problems")}
              data-testid="problem-count" title="Validation problems">
        {problems ? `${problems} problem${problems > 1 ? "s" : ""}` : "valid"}
        {hints > 0 && <span className="ms-1 text-warning-emphasis" data-testid="hint-count">· {hints} hint{hints > 1 ? "s" : ""}</span>}
      </Button>
      <div className="ms-auto d-flex gap-2">
        {b("releases", "Releases", { title: "What runs where: releases per host and service" })}
        {b("snapshots", "Snapshots", { title: "Volumes and their snapshots per host" })}
        {b("plan", "Plan", { title: "What a run would change, without running anything" })}
        {b("run", "Run ▶", { variant: "primary",
          ...can("operator", can("admin").disabled ? "Run the saved revision" : "Save and run") })}
        {b("help", "?", { title: "Keyboard shortcuts (?)" })}
        <SessionBadge />
      </div>
    </Navbar>
  );
}
