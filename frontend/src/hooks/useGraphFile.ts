// The graph being edited: its nodes, edges and metadata, where it is saved, and history.
import { useCallback, useMemo, useState } from "react";
import { useEdgesState, useNodesState, type Edge } from "@xyflow/react";
import { Api } from "../api/client";
import { emptyMeta, toDoc, toFlow, type BrickNode, type GraphMeta } from "../lib/graphDoc";
import type { GraphDoc } from "../types";
import { useHistory } from "./useHistory";

export interface FileState {
  id: string | null;
  revision: number | null;
  latest: number | null;
  readOnly: boolean;
}

const NEW_FILE: FileState = { id: null, revision: null, latest: null, readOnly: false };

function metaOf(doc: GraphDoc): GraphMeta {
  const { nodes: _n, edges: _e, ...meta } = doc;
  return { ...emptyMeta(), ...meta };
}

export function serializeDoc(doc: GraphDoc): string {
  const { nodes, edges } = toFlow(doc);
  return JSON.stringify(toDoc(metaOf(doc), nodes, edges));
}

const asTheyAre = (nodes: BrickNode[]) => nodes;

/** `place` puts the nodes of a document being loaded on the view (usePlaceNodes). */
export function useGraphFile(onContent: (doc: GraphDoc) => void, place = asTheyAre) {
  const [nodes, setNodes, onNodesChange] = useNodesState<BrickNode>([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>([]);
  const [meta, setMeta] = useState<GraphMeta>(() => emptyMeta());
  const [file, setFile] = useState<FileState>(NEW_FILE);
  const [saved, setSaved] = useState<string | null>(() => serializeDoc({ ...emptyMeta(), nodes: [], edges: [] }));

  const serialize = useCallback(() => JSON.stringify(toDoc(meta, nodes, edges)), [meta, nodes, edges]);
  const show = useCallback((doc: GraphDoc, placed = false) => {
    const flow = toFlow(doc);
    setNodes(placed ? place(flow.nodes) : flow.nodes);
    setEdges(flow.edges);
    setMeta(metaOf(doc));
  }, [setNodes, setEdges, place]);
  const history = useHistory(serialize, [nodes, edges, meta], (json) => show(JSON.parse(json)),
                             (json) => onContent(JSON.parse(json)));
  const doc = useCallback(() => toDoc(meta, nodes, edges), [meta, nodes, edges]);
  const resetHistory = history.reset;

  /** Bumped by each load: what was typed for the graph before (run inputs) is for another one. */
  const [generation, setGeneration] = useState(0);
  /** Replace the canvas with a document; `as` tells where it came from. */
  const load = useCallback((d: GraphDoc, as: FileState, isSaved: boolean) => {
    setGeneration((n) => n + 1);
    resetHistory();
    show(d, true);
    setFile(as);
    setSaved(isSaved ? serializeDoc(d) : null);
  }, [resetHistory, show]);

  const open = useCallback(async (id: string, revision: number, latest: number) => {
    const d = await Api.revision(id, revision);
    load(d, { id, revision, latest, readOnly: revision < latest }, true);
  }, [load]);

  const record = history.record;
  /** Save as a new revision of `target` (by default the graph opened), or as a new graph (null). */
  const save = useCallback(async (target: string | null = file.id) => {
    record();
    const d = doc();
    const res = target ? await Api.save(target, d) : await Api.create(d);
    setFile({ id: res.id, revision: res.revision, latest: res.revision, readOnly: false });
    setSaved(JSON.stringify(d));
    return res;
  }, [doc, file.id, record]);

  /** Take these nodes (the loaded ones, moved apart) as what is saved: moving them is not an edit. */
  const rebase = useCallback((moved: BrickNode[]) => setSaved(JSON.stringify(toDoc(meta, moved, edges))), [meta, edges]);

  const current = history.current();
  const dirty = useMemo(() => (current ?? serialize()) !== saved, [current, saved, serialize]);
  /** Dirty as of now, not as of the last history snapshot. */
  const isDirty = useCallback(() => serialize() !== saved, [serialize, saved]);
  return { nodes, setNodes, onNodesChange, edges, setEdges, onEdgesChange, meta, setMeta, file,
           doc, load, open, save, dirty, isDirty, history, rebase, generation };
}
