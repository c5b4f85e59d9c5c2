import { Fragment, memo, useState, type CSSProperties, type KeyboardEvent } from "react";
import { Handle, Position, useReactFlow, useStore, type NodeProps, type ReactFlowState } from "@xyflow/react";
import type { BrickNode as BrickNodeType } from "../lib/graphDoc";
import { planStore, problemStore, runStore, useEntry } from "../lib/overlay";
import { VERDICT_LABEL } from "../lib/plan";
import { typeColor, usePalette } from "../lib/palette";
import { ORDER_IN, ORDER_OUT } from "../lib/wiring";
import type { Port } from "../types";
import { formatDuration, itemProgress } from "../lib/format";
import { boxOf, FAR_ZOOM, farTitleFont, portCentre } from "../lib/nodeBox";
import { BrickIcon } from "./BrickIcon";

interface PortRowProps {
  port: Port;
  side: "in" | "out";
  bad?: string;
  /** The port carries a list: the for_each input, or an output gathered over items. */
  listed?: boolean;
}

const PortRow = memo(function PortRow({ port, side, bad, listed }: PortRowProps) {
  const color = typeColor(port.type);
  const type = listed ? `${port.type}[]` : port.type;
  const title = `${port.title || port.name}: ${type}${port.required ? " (required)" : ""}` +
    (listed && side === "in" ? " - runs once per item of this list" : "") +
    (listed && side === "out" ? " - one value per item" : "") +
    (port.description ? ` - ${port.description}` : "") + (bad ? `\n${bad}` : "");
  return (
    <div className={`nbx-port nbx-port-${side}${bad ? " nbx-port-bad" : ""}`} title={title}
         data-port={port.name} data-testid={`port-${side}-${port.name}`}>
      <Handle id={port.name} type={side === "in" ? "target" : "source"}
              position={side === "in" ? Position.Left : Position.Right}
              className="nbx-handle" style={{ background: color, borderColor: color }} />
      <span className="nbx-port-name">
        {port.name}
        {side === "in" && port.required && <span className="nbx-required" aria-label="required">*</span>}
      </span>
      <span className="nbx-port-type" style={{ color }}>{type}</span>
    </div>
  );
});

function Label({ id, label, fallback, editable }: { id: string; label?: string; fallback: string; editable: boolean }) {
  const { updateNodeData } = useReactFlow();
  const [editing, setEditing] = useState(false);
  if (editing) {
    const done = (value: string) => {
      setEditing(false);
      updateNodeData(id, { label: value.trim() || undefined });
    };
    return (
      <input className="form-control form-control-sm nodrag nbx-label-input" autoFocus
             defaultValue={label ?? ""} placeholder={fallback} aria-label="Node label"
             onBlur={(e) => done(e.currentTarget.value)}
             onKeyDown={(e: KeyboardEvent<HTMLInputElement>) => {
               e.stopPropagation();
               if (e.key === "Enter") done(e.currentTarget.value);
               if (e.key === "Escape") setEditing(false);
             }} />
    );
  }
  return (
    <span className="nbx-node-title" title={editable ? "Double-click to rename" : undefined}
          onDoubleClick={() => editable && setEditing(true)}>
      {label || fallback}
    </span>
  );
}

const isFar = (s: ReactFlowState) => s.transform[2] < FAR_ZOOM;

/** A handle's place, as React Flow measures it, without a handle to connect (far out nothing connects). */
const marker = (id: string, type: "source" | "target", position: Position, className: string, top?: number) => (
  <div key={id} className={`react-flow__handle react-flow__handle-${position} ${className} ${type}`}
       data-handleid={id} data-handlepos={position} style={top === undefined ? undefined : { top }} />
);

/**
 * Zoomed far out: the whole node in its status colour, its title large enough to read (the font
 * size comes from the canvas), over a box the size of the full node with its handles in place,
 * so wires end where they do up close. No port rows: a 500-node graph opens far out in one pass.
 */
function FarNode({ id, data, width, height, selected }: NodeProps<BrickNodeType>) {
  const { byId } = usePalette();
  const spec = byId.get(data.brick);
  const problems = useEntry(problemStore, id);
  const run = useEntry(runStore, id);
  const status = run?.status;
  const items = run?.items ? itemProgress(run.items) : null;
  const title = data.label || spec?.title || data.brick;
  // The full node's size when it was measured up close (taller with error lines, say), so zooming
  // out moves nothing; the computed box when it never was, or when it has more ports than then
  // (its brick was not in the palette yet): its size changes and React Flow measures it again.
  const computed = boxOf(id, data, spec);
  const box = width && height && height >= computed.height ? { width, height } : computed;
  const text = items ? `${title} ${items.done}/${items.total}` : title;
  const withStatus = !!status && box.height > 140;
  return (
    <div className={`nbx-node nbx-node-far${selected ? " selected" : ""}`} data-testid={`node-${id}`}
         style={{ ...box, "--nbx-w": `${box.width}px`, "--nbx-h": `${box.height}px`,
                  "--nbx-fit": `${farTitleFont(text, box, withStatus)}px` } as CSSProperties}
         data-status={status ?? ""}>
      <div className={`nbx-far-view nbx-far-${status ?? "none"}${problems?.length ? " nbx-far-bad" : ""}`}
           data-testid="far-view" aria-hidden>
        {/* Lines break between words only: a word is never cut, not even at a hyphen ("web-|a"). */}
        <span className="nbx-far-title">
          {text.split(" ").map((word, i) => <Fragment key={i}>{i ? " " : null}<span className="nbx-word">{word}</span></Fragment>)}
        </span>
        {/* A short node has room for its title only: its colour tells the status. */}
        {withStatus && <span className="nbx-far-status">{status}</span>}
      </div>
      {marker(ORDER_IN, "target", Position.Top, "nbx-order")}
      {spec?.inputs.map((p, i) => marker(p.name, "target", Position.Left, "nbx-handle", portCentre(i)))}
      {spec?.outputs.map((p, i) => marker(p.name, "source", Position.Right, "nbx-handle", portCentre(i)))}
      {marker(ORDER_OUT, "source", Position.Bottom, "nbx-order")}
    </div>
  );
}

function NearNode({ id, data, selected, isConnectable }: NodeProps<BrickNodeType>) {
  const { byId } = usePalette();
  const spec = byId.get(data.brick);
  const problems = useEntry(problemStore, id);
  const run = useEntry(runStore, id);
  const planned = useEntry(planStore, id);
  const badPort = (name: string) => problems?.filter((p) => p.port === name).map((p) => p.message).join("; ");
  const nodeProblems = problems?.filter((p) => !p.port) ?? [];
  const status = run?.status;
  const forEach = typeof data.extra.for_each === "string" ? data.extra.for_each : undefined;
  const items = run?.items ? itemProgress(run.items) : null;
  const cls = ["nbx-node", selected ? "selected" : "", problems?.length ? "nbx-node-bad" : "",
               status ? `nbx-status-${status}` : ""].join(" ");
  return (
    <div className={cls} data-testid={`node-${id}`} data-status={status ?? ""}>
      <Handle id={ORDER_IN} type="target" position={Position.Top} className="nbx-order"
              title="Order: runs after" isConnectable={isConnectable} />
      <div className="nbx-node-head">
        <BrickIcon icon={spec?.icon} />
        <Label id={id} label={data.label} fallback={spec?.title ?? data.brick} editable={isConnectable} />
        {status && (
          <span className={`nbx-badge nbx-badge-${status}`} data-testid={`status-${id}`}>
            {status}{run?.duration_s != null ? ` · ${formatDuration(run.duration_s)}` : ""}
          </span>
        )}
        {planned && (
          <span className={`nbx-badge nbx-plan nbx-plan-${planned}`} data-testid={`plan-${id}`}
                title="What the last plan said a run would do here">{VERDICT_LABEL[planned]}</span>
        )}
        {items && (
          <span className={`nbx-badge nbx-items ${items.failed ? "nbx-badge-failed"
                  : items.done === items.total ? "nbx-badge-succeeded" : "nbx-badge-running"}`}
                data-testid={`items-${id}`}
                title={`${items.done} of ${items.total} items done${items.failed ? `, ${items.failed} failed` : ""}`}>
            {items.done}/{items.total}
          </span>
        )}
      </div>
      <div className="nbx-node-ids">
        <code>{data.brick}</code> · <code>{id}</code>
        {forEach && <span className="nbx-each" data-testid={`each-${id}`}> · each <code>{forEach}</code></span>}
      </div>
      {!spec && <div className="nbx-node-error">unknown brick</div>}
      {nodeProblems.map((p, i) => <div key={i} className="nbx-node-error">{p.message}</div>)}
      {run?.error && <div className="nbx-node-error" data-testid={`error-${id}`}>{run.error}</div>}
      {(status === "waiting" || status === "running") && run?.wait?.reason && (
        <div className="nbx-node-wait" data-testid={`wait-${id}`}
             title={status === "waiting" ? "Waiting for a decision: see the Run tab" : "Waiting for another run to end"}>
          {run.wait.reason}
        </div>
      )}
      <div className="nbx-ports">
        <div className="nbx-col">
          {spec?.inputs.map((p) => <PortRow key={p.name} port={p} side="in" bad={badPort(p.name)}
                                            listed={p.name === forEach} />)}
        </div>
        <div className="nbx-col nbx-col-out">
          {spec?.outputs.map((p) => <PortRow key={p.name} port={p} side="out" bad={badPort(p.name)}
                                             listed={!!forEach} />)}
        </div>
      </div>
      <Handle id={ORDER_OUT} type="source" position={Position.Bottom} className="nbx-order"
              title="Order: runs before" isConnectable={isConnectable} />
    </div>
  );
}

function BrickNodeView(props: NodeProps<BrickNodeType>) {
  return useStore(isFar) ? <FarNode {...props} /> : <NearNode {...props} />;
}

export const BrickNode = memo(BrickNodeView);
