import { startTransition, useCallback, useEffect, useState, type CSSProperties, type DragEvent } from "react";
import {
  Background, Controls, MiniMap, ReactFlow, addEdge, useReactFlow, useStore,
  type Connection, type Edge, type FinalConnectionState, type IsValidConnection,
  type OnEdgesChange, type OnNodesChange,
} from "@xyflow/react";
import { BrickNode } from "./BrickNode";
import { FAR_ZOOM } from "../lib/nodeBox";
import type { BrickNode as BrickNodeType } from "../lib/graphDoc";
import { usePalette } from "../lib/palette";
import { connectionProblem, forEachOffer, isControl, type WireContext, type WireEnds } from "../lib/wiring";
import type { ToastAction } from "./Toasts";
import { runStore, useMap } from "../lib/overlay";
import { useFit } from "../hooks/useFit";

// Module level: React Flow must get the same object on every render.
const nodeTypes = { brick: BrickNode };
const deleteKeys = ["Delete", "Backspace"];
const multiKeys = ["Shift", "Meta", "Control"];
export const BRICK_MIME = "application/x-nebhx-brick";

const statusColor: Record<string, string> = {
  succeeded: "#198754", failed: "#dc3545", running: "#0d6efd", waiting: "#fd7e14",
  queued: "#6c757d", cancelled: "#adb5bd", skipped: "#adb5bd",
};
// Below this zoom, port names are too small to read: each node shows its title over its status
// colour instead (BrickNode), in a font of about 15 px on screen. The size is set here, once for
// all nodes, in steps of 0.05 zoom; 0 when near.
const farFont = (s: { transform: [number, number, number] }) => {
  const zoom = s.transform[2];
  return zoom < FAR_ZOOM ? Math.round(Math.min(15 / Math.max(0.05, Math.round(zoom * 20) / 20), 64)) : 0;
};

/**
 * False while the graph grew or shrank by many nodes at once (a graph opened or imported) until
 * React has time to spare: the minimap, which draws every node again, is then drawn as a
 * transition (in slices between frames) after the graph is on screen. On 500 nodes it took a
 * fifth of the time to the first picture (bench/editor_render.py).
 */
function useSettled(size: number, jump = 100): boolean {
  const [settled, setSettled] = useState(size);
  const moved = Math.abs(size - settled) > jump;
  useEffect(() => {
    if (moved) startTransition(() => setSettled(size));
  }, [moved, size]);
  return !moved;
}

interface Props {
  nodes: BrickNodeType[];
  edges: Edge[];
  onNodesChange: OnNodesChange<BrickNodeType>;
  onEdgesChange: OnEdgesChange;
  setEdges: (update: (edges: Edge[]) => Edge[]) => void;
  readOnly: boolean;
  onDropBrick: (brick: string, position: { x: number; y: number }) => void;
  /** A wire refused, and what would take it when something would (`for_each`). */
  onRefuse: (reason: string, offer?: ToastAction) => void;
}

export function Canvas({ nodes, edges, onNodesChange, onEdgesChange, setEdges, readOnly,
                         onDropBrick, onRefuse }: Props) {
  const { screenToFlowPosition, getNode, getEdges, updateNodeData } = useReactFlow<BrickNodeType>();
  const fit = useFit();
  const palette = usePalette();
  const font = useStore(farFont);
  const mapShown = useSettled(nodes.length);
  const runNodes = useMap(runStore);
  const minimapColor = useCallback((n: { id: string }) => statusColor[runNodes[n.id]?.status ?? ""] ?? "#6c8ebf",
                                   [runNodes]);

  const wireContext = useCallback((): WireContext => ({
    brickOf: (id) => palette.byId.get(getNode(id)?.data.brick ?? ""),
    edges: getEdges(),
    parents: palette.parents,
    forEachOf: (id) => {
      const each = getNode(id)?.data.extra.for_each;
      return typeof each === "string" ? each : undefined;
    },
  }), [palette, getNode, getEdges]);
  const problemOf = useCallback((c: WireEnds) => connectionProblem(c, wireContext()), [wireContext]);

  const isValidConnection: IsValidConnection = useCallback(
    (c) => problemOf(c) === null, [problemOf]);

  const onConnect = useCallback((c: Connection) => {
    const control = isControl(c);
    const id = control ? `${c.source}->${c.target}` : `${c.source}.${c.sourceHandle}->${c.target}.${c.targetHandle}`;
    setEdges((es) => addEdge({ ...c, id, ...(control ? { className: "nbx-control" } : {}) }, es));
  }, [setEdges]);

  const onConnectEnd = useCallback((_: MouseEvent | TouchEvent, state: FinalConnectionState) => {
    if (state.isValid !== false || !state.fromHandle || !state.toHandle) return;
    const from = state.fromHandle.type === "source" ? state.fromHandle : state.toHandle;
    const to = state.fromHandle.type === "source" ? state.toHandle : state.fromHandle;
    const c = { source: from.nodeId, sourceHandle: from.id, target: to.nodeId, targetHandle: to.id };
    const why = problemOf(c);
    if (!why) return;
    const port = forEachOffer(c, wireContext());
    const target = getNode(c.target);
    if (!port || !target) return onRefuse(`Wire refused: ${why}`);
    onRefuse(`${why}: a list goes into a port of one value when the node runs once per item (for_each).`, {
      label: `Run ${target.data.label || target.id} once per ${port}`,
      run: () => {
        updateNodeData(c.target, { extra: { ...target.data.extra, for_each: port } });
        onConnect({ ...c, sourceHandle: c.sourceHandle ?? null, targetHandle: c.targetHandle ?? null });
      },
    });
  }, [problemOf, onRefuse, wireContext, getNode, updateNodeData, onConnect]);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(BRICK_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback((e: DragEvent) => {
    const brick = e.dataTransfer.getData(BRICK_MIME);
    if (!brick || readOnly) return;
    e.preventDefault();
    onDropBrick(brick, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  }, [onDropBrick, readOnly, screenToFlowPosition]);

  return (
    <ReactFlow<BrickNodeType>
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onConnect={onConnect}
      onConnectEnd={onConnectEnd}
      isValidConnection={isValidConnection}
      onDragOver={onDragOver}
      onDrop={onDrop}
      nodesDraggable={!readOnly}
      nodesConnectable={!readOnly}
      deleteKeyCode={readOnly ? null : deleteKeys}
      multiSelectionKeyCode={multiKeys}
      selectionOnDrag={false}
      colorMode="system"
      className={font ? "nbx-far" : undefined}
      style={font ? { "--nbx-far-font": `${font}px` } as CSSProperties : undefined}
      minZoom={0.05}
    >
      <Background gap={20} />
      {mapShown && <MiniMap pannable zoomable nodeColor={minimapColor} />}
      <Controls showInteractive={false} onFitView={() => void fit()} />
    </ReactFlow>
  );
}
