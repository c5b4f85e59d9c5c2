import { memo } from "react";
import { Tab, Tabs } from "react-bootstrap";
import type { Edge } from "@xyflow/react";
import type { BrickNode, GraphMeta } from "../lib/graphDoc";
import type { Hint } from "../lib/hints";
import type { Problem, Run, RunSummary } from "../types";
import type { Compare } from "../hooks/useCompare";
import { ComparePanel } from "./ComparePanel";
import { GraphPanel, type NodeSummary } from "./GraphPanel";
import { NodePanel } from "./NodePanel";
import { ProblemsPanel } from "./ProblemsPanel";
import { RunPanel } from "./RunPanel";

export interface SidePanelProps {
  tab: string;
  setTab: (tab: string) => void;
  selected: BrickNode[];
  /** Every node's id, brick and label (a stable array while those do not change). */
  nodeList: NodeSummary[];
  edges: Edge[];
  meta: GraphMeta;
  setMeta: (m: GraphMeta) => void;
  readOnly: boolean;
  problems: Problem[];
  hints: Hint[];
  onFocus: (node: string) => void;
  run: Run | null;
  runs: RunSummary[];
  compare: Compare;
  /** The revision on the canvas and the graph's latest (null: not saved). */
  revision: number | null;
  latest: number | null;
  runActions: {
    onCancel: () => void;
    onRetry: (node: string) => void;
    onDecide: (node: string, verdict: "approve" | "reject", comment: string) => void;
    onOpenRun: (id: string) => void;
    onClose: () => void;
  };
}

function SidePanelView(p: SidePanelProps) {
  const one = p.selected.length === 1 ? p.selected[0] : null;
  return (
    <aside className="nbx-side">
      <Tabs activeKey={p.tab} onSelect={(k) => k && p.setTab(k)} className="px-1 pt-1 small" id="side-tabs">
        <Tab eventKey="node" title="Node">
          <div className="p-2">
            {one ? <NodePanel node={one} edges={p.edges} meta={p.meta} readOnly={p.readOnly}
                               ran={p.run?.nodes[one.id]} />
              : <p className="small text-body-secondary">
                  {p.selected.length > 1 ? `${p.selected.length} nodes selected.` : "Select a node to edit its parameters."}
                </p>}
          </div>
        </Tab>
        <Tab eventKey="graph" title="Graph">
          <div className="p-2"><GraphPanel meta={p.meta} setMeta={p.setMeta} readOnly={p.readOnly} nodes={p.nodeList} /></div>
        </Tab>
        <Tab eventKey="problems" title={`Problems${p.problems.length ? ` (${p.problems.length})` : ""}`}>
          <div className="p-1"><ProblemsPanel problems={p.problems} hints={p.hints} onFocus={p.onFocus} /></div>
        </Tab>
        <Tab eventKey="compare" title={p.compare.diff ? "Compare •" : "Compare"}>
          <div className="p-2">
            <ComparePanel compare={p.compare} revision={p.revision} latest={p.latest} selected={one?.id ?? null} />
          </div>
        </Tab>
        <Tab eventKey="run" title="Run">
          <div className="p-2">
            <RunPanel run={p.run} runs={p.runs} nodeId={one?.id ?? null} {...p.runActions} />
          </div>
        </Tab>
      </Tabs>
    </aside>
  );
}

const sameItems = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Re-renders only when what it shows changes (not on every move of an unselected node). */
export const SidePanel = memo(SidePanelView, (a, b) =>
  (Object.keys(a) as (keyof SidePanelProps)[]).every((k) =>
    k === "selected" ? sameItems(a.selected, b.selected) : a[k] === b[k]));
