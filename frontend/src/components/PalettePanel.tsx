import { memo, useMemo, useState, type DragEvent } from "react";
import { Accordion, Button, Form, OverlayTrigger, Popover, Spinner, type PopoverProps } from "react-bootstrap";
import { categoryTitle, groupBricks, typeColor, usePalette } from "../lib/palette";
import { useCan } from "../hooks/useAuth";
import { BRICK_MIME } from "./Canvas";
import { BrickIcon } from "./BrickIcon";
import { Markdown } from "./Markdown";
import type { BrickSpec } from "../types";

/** The docs of a brick; the overlay's positioning props (and ref) pass through to the Popover. */
function Docs({ spec, ...props }: { spec: BrickSpec } & PopoverProps) {
  return (
    <Popover {...props} id={`docs-${spec.id}`} className="nbx-docs">
      <Popover.Header as="h3">{spec.title} <code className="small">{spec.id}</code></Popover.Header>
      <Popover.Body>
        {spec.docs ? <Markdown text={spec.docs} className="mb-2" /> : <p>No documentation.</p>}
        {spec.parent && <p className="small">Extends <code>{spec.parent}</code></p>}
        {(["inputs", "outputs"] as const).map((k) => spec[k].length > 0 && (
          <div key={k} className="small">
            <strong>{k}</strong>
            <ul className="mb-1 ps-3">
              {spec[k].map((p) => (
                <li key={p.name}>
                  <code>{p.name}</code> <span style={{ color: typeColor(p.type) }}>{p.type}</span>
                  {p.required && k === "inputs" ? " *" : ""} {p.description && `- ${p.description}`}
                </li>
              ))}
            </ul>
          </div>
        ))}
      </Popover.Body>
    </Popover>
  );
}

const BrickItem = memo(function BrickItem({ spec, disabled }: { spec: BrickSpec; disabled: boolean }) {
  const onDragStart = (e: DragEvent) => {
    e.dataTransfer.setData(BRICK_MIME, spec.id);
    e.dataTransfer.effectAllowed = "copy";
  };
  return (
    <div className="nbx-brick" draggable={!disabled} onDragStart={onDragStart}
         data-testid={`brick-${spec.id}`} title={`Drag ${spec.id} onto the canvas`}>
      <span className="nbx-brick-title"><BrickIcon icon={spec.icon} /> {spec.title}</span>
      <OverlayTrigger trigger={["hover", "focus"]} placement="right" overlay={(props) => <Docs spec={spec} {...props} />}>
        <Button variant="link" size="sm" className="p-0 nbx-docs-btn" aria-label={`Docs of ${spec.id}`}>?</Button>
      </OverlayTrigger>
      <div className="nbx-brick-id">{spec.id}</div>
    </div>
  );
});

export const PalettePanel = memo(function PalettePanel({ onReload, loading, readOnly }:
    { onReload: () => void; loading: boolean; readOnly: boolean }) {
  const { palette } = usePalette();
  const reload = useCan()("admin", "Reload the palette from the server");
  const [query, setQuery] = useState("");
  const groups = useMemo(() => groupBricks(palette.bricks, query), [palette.bricks, query]);
  const [closed, setClosed] = useState<Set<string>>(new Set());
  const open = groups.map(([c]) => c).filter((c) => query || !closed.has(c));
  const onSelect = (keys: unknown) => {
    const now = new Set(Array.isArray(keys) ? (keys as string[]) : []);
    setClosed(new Set(groups.map(([c]) => c).filter((c) => !now.has(c))));
  };
  return (
    <div className="nbx-palette">
      <div className="d-flex gap-1 p-2">
        <Form.Control size="sm" type="search" placeholder="Search bricks" value={query}
                      onChange={(e) => setQuery(e.target.value)} aria-label="Search bricks" />
        <Button size="sm" variant="outline-secondary" onClick={onReload} disabled={loading || reload.disabled}
                title={reload.title} aria-label="Reload palette">
          {loading ? <Spinner size="sm" animation="border" /> : "⟳"}
        </Button>
      </div>
      {palette.errors.length > 0 && (
        <div className="alert alert-warning small mx-2 p-2" title={palette.errors.map((e) => `${e.source}: ${e.message}`).join("\n")}>
          {palette.errors.length} brick source(s) failed to load
        </div>
      )}
      <Accordion alwaysOpen activeKey={open} onSelect={onSelect} flush className="nbx-groups">
        {groups.map(([category, bricks]) => (
          <Accordion.Item eventKey={category} key={category}>
            <Accordion.Header>{categoryTitle(category)} <span className="ms-2 badge text-bg-secondary">{bricks.length}</span></Accordion.Header>
            <Accordion.Body className="p-1">
              {bricks.map((b) => <BrickItem key={b.id} spec={b} disabled={readOnly} />)}
            </Accordion.Body>
          </Accordion.Item>
        ))}
      </Accordion>
      {groups.length === 0 && <p className="text-body-secondary small p-2">No brick matches.</p>}
    </div>
  );
});
