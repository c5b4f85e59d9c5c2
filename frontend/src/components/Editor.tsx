import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { Api } from "../api/client";
import { docJson, emptyMeta, freshId, pasteFragment, selectionDoc, type BrickNode } from "../lib/graphDoc";
import { autoLayout, spreadOverlaps } from "../lib/layout";
import { placeClear } from "../lib/placement";
import { fieldErrorStore, fieldProblems } from "../lib/fieldErrors";
import { useMap } from "../lib/overlay";
import { rolloutHints, type Hint } from "../lib/hints";
import { nextPalette, PaletteContext, emptyPalette } from "../lib/palette";
import { useGraphFile } from "../hooks/useGraphFile";
import { usePlaceNodes } from "../hooks/usePlaceNodes";
import { useFit } from "../hooks/useFit";
import { useRunWatch } from "../hooks/useRunWatch";
import { useGateLink } from "../hooks/useGateLink";
import { useCompare } from "../hooks/useCompare";
import { useShortcuts } from "../hooks/useShortcuts";
import { useValidation } from "../hooks/useValidation";
import { useAuth } from "../hooks/useAuth";
import { useCompositeTrail } from "../hooks/useCompositeTrail";
import { useExtract } from "../hooks/useExtract";
import { clearPlanBadges, usePlan } from "../hooks/usePlan";
import { download } from "../lib/download";
import { withIncludes } from "../lib/includes";
import { EditorActionsContext } from "../lib/editorActions";
import { useSafeFile } from "../hooks/useSafeFile";
import { allowed, needsRole } from "../lib/roles";
import type { GraphDoc, RunSummary } from "../types";
import type { CanaryRequest } from "../lib/canary";
import { Breadcrumb } from "./Breadcrumb";
import { CanaryDialog } from "./CanaryDialog";
import { ExtractDialog } from "./ExtractDialog";
import { Canvas } from "./Canvas";
import { HelpDialog } from "./HelpDialog";
import { ImportDialog } from "./ImportDialog";
import { OpenDialog } from "./OpenDialog";
import { PlanDialog } from "./PlanDialog";
import { ReleasesPanel } from "./ReleasesPanel";
import { SnapshotsPanel } from "./SnapshotsPanel";
import { PalettePanel } from "./PalettePanel";
import { RunDialog } from "./RunDialog";
import { SidePanel } from "./SidePanel";
import { Toasts, useToasts } from "./Toasts";
import { UnsavedDialogs } from "./UnsavedDialogs";
import { Toolbar, type ToolbarAction } from "./Toolbar";

type Dialog = null | "open" | "import" | "help" | "run" | "plan" | "releases" | "snapshots" | "canary";

export function Editor() {
  const flow = useReactFlow<BrickNode>();
  const { toasts, push, dismiss } = useToasts();
  const fail = useCallback((e: unknown) => push((e as Error).message ?? String(e), "danger"), [push]);
  const [palette, setPalette] = useState(emptyPalette);
  const [paletteLoading, setPaletteLoading] = useState(false);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [tab, setTab] = useState("node");
  const [runId, setRunId] = useState<string | null>(null);
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const clipboard = useRef<GraphDoc | null>(null);
  const { problems, validate } = useValidation();
  // Each change is validated; a plan made before it no longer holds.
  const [hints, setHints] = useState<Hint[]>([]);
  const onContent = useCallback((d: GraphDoc) => {
    clearPlanBadges(d);
    setHints(rolloutHints(d));
    return validate(d);
  }, [validate]);
  const g = useGraphFile(onContent, usePlaceNodes(palette));
  const { nodes, setNodes, edges, setEdges, meta, file } = g;
  const { me, signIns } = useAuth();
  const isAdmin = allowed(me.role, "admin");
  const isOperator = allowed(me.role, "operator");
  const { run, revive } = useRunWatch(runId, (m) => push(m, "danger"), signIns);
  const selected = useMemo(() => nodes.filter((n) => n.selected), [nodes]);
  const compare = useCompare(file.id, file.revision, nodes, fail);
  // The server's problems and the editor's own (code fields whose text does not parse).
  const fieldErrors = useMap(fieldErrorStore);
  const generation = g.generation;
  useEffect(() => fieldErrorStore.set({}), [generation]); // another graph: its fields start afresh
  const nodeIds = nodes.map((n) => n.id).join("\n");
  const typed = useMemo(() => fieldProblems(fieldErrors, new Set(nodeIds.split("\n"))), [fieldErrors, nodeIds]);
  const allProblems = useMemo(() => [...typed, ...problems], [typed, problems]);
  // What the Graph tab needs of the nodes; the same array while ids, bricks and labels stay.
  const nodeKey = nodes.map((n) => `${n.id}\u0000${n.data.brick}\u0000${n.data.label ?? ""}`).join("\n");
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const nodeList = useMemo(() => nodes.map((n) => ({ id: n.id, brick: n.data.brick, label: n.data.label })), [nodeKey]);
  // Show the whole graph whenever a graph is put on the canvas (open, import, new).
  const [fitRequest, setFitRequest] = useState(0);
  const fit = useFit();
  const fitSoon = useCallback(() => setFitRequest((n) => n + 1), []);
  useEffect(() => {
    // React Flow runs a fit view once the new nodes are measured, before they are shown.
    if (fitRequest) void fit();
  }, [fitRequest, fit]);
  const readOnly = file.readOnly;
  // An imported document keeps its saved positions, but nodes that overlap once drawn
  // (taller here than where it was laid out) are moved apart, then the whole graph is shown.
  // The same for a stored graph, where the moved nodes count as saved (it is not an edit).
  const [spreadPending, setSpreadPending] = useState<null | "import" | "open">(null);
  const rebase = g.rebase;
  useEffect(() => {
    if (!spreadPending) return;
    if (nodes.some((n) => !n.measured?.width || !n.measured?.height)) return;
    setSpreadPending(null);
    const spread = spreadOverlaps(nodes);
    if (!spread) return;
    setNodes(spread);
    if (spreadPending === "open") rebase(spread);
    fitSoon();
  }, [spreadPending, nodes, setNodes, fitSoon, rebase]);
  // Fit at once too: React Flow fits as it first shows the measured nodes (one paint, not two).
  const openedSoon = useCallback(() => { setSpreadPending("open"); fitSoon(); }, [fitSoon]);
  useEffect(() => {
    if (!spreadPending) return;
    // Nodes that are never measured (hidden, say) must not keep it pending.
    const t = setTimeout(() => setSpreadPending(null), 2000);
    return () => clearTimeout(t);
  }, [spreadPending]);

  const loadPalette = useCallback(async (reload: boolean) => {
    setPaletteLoading(true);
    try {
      const p = reload ? await Api.reloadBricks() : await Api.bricks();
      setPalette((shown) => nextPalette(shown, p));
      if (reload) push(`Palette reloaded: ${p.bricks.length} bricks`, "success");
    } catch (e) {
      fail(e);
    } finally {
      setPaletteLoading(false);
    }
  }, [push, fail]);
  useEffect(() => { void loadPalette(false); }, [loadPalette]);
  const reloadPalette = useCallback(() => void loadPalette(true), [loadPalette]);

  const refreshRuns = useCallback((graphId: string | null) => {
    if (!graphId) return setRuns([]);
    Api.runs(graphId).then(setRuns).catch(fail);
  }, [fail]);
  useEffect(() => refreshRuns(file.id), [file.id, refreshRuns, run?.status]);

  const addNode = useCallback((brick: string, position: { x: number; y: number }) => {
    setNodes((ns) => {
      const id = freshId(brick, new Set(ns.map((n) => n.id)));
      const node: BrickNode = { id, type: "brick", position, selected: true, data: { brick, params: {}, extra: {} } };
      return [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), ...placeClear([node], ns, palette)];
    });
    setTab("node");
  }, [setNodes, palette]);

  const focusNode = useCallback((id: string) => {
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id })));
    void flow.fitView({ nodes: [{ id }], duration: 300, maxZoom: 1.2 });
  }, [flow, setNodes]);

  const safe = useSafeFile(g, push, fail, fitSoon);
  const { save, confirmLeave } = safe;
  const trail = useCompositeTrail(g, confirmLeave, openedSoon, fail);
  const planner = usePlan(g.doc, fail);
  const extract = useExtract(g, palette, useCallback(() => Api.bricks().then((p) => setPalette((shown) => nextPalette(shown, p))), []),
                             push, fail);
  // The inputs last planned or run with, for this graph (Plan's carry over to Run).
  const [last, setLast] = useState<{ generation: number; values: Record<string, unknown> } | null>(null);
  const lastInputs = last?.generation === g.generation ? last.values : undefined;
  const startPlan = useCallback((inputs: Record<string, unknown>) => {
    setDialog(null);
    setLast({ generation: g.generation, values: inputs });
    void planner.start(inputs);
  }, [planner, g.generation]);
  const editorActions = useMemo(() => ({
    openComposite: (id: string, rev: number | null) => { setRunId(null); void trail.openComposite(id, rev); },
  }), [trail]);
  // A saved graph is also a composite brick: the palette lists its newest revision.
  useEffect(() => { if (file.revision !== null) Api.bricks().then((p) => setPalette((shown) => nextPalette(shown, p)), () => undefined); },
            [file.id, file.revision]);

  const startRun = useCallback(async (inputs: Record<string, unknown>) => {
    setDialog(null);
    setLast({ generation: g.generation, values: inputs });
    let target = file.id && file.revision !== null && (readOnly || !g.isDirty())
      ? { id: file.id, revision: file.revision } : null;
    if (!target && !isAdmin) return push(`Saving ${needsRole("admin")}: only a saved, unchanged graph can be run`, "warning");
    if (!target) target = await save();
    if (!target) return;
    try {
      const r = await Api.startRun({ graph_id: target.id, revision: target.revision, inputs });
      setRunId(r.id);
      setTab("run");
    } catch (e) {
      fail(e);
    }
  }, [file, readOnly, g, save, fail, isAdmin, push]);

  const openRun = useCallback(async (id: string) => {
    try {
      const r = await Api.run(id);
      if (r.graph_id && r.revision !== null && (r.graph_id !== file.id || r.revision !== file.revision)) {
        if (!(await confirmLeave("open the graph of that run"))) return;
        const info = await Api.graph(r.graph_id);
        await g.open(r.graph_id, r.revision, info.latest_revision);
        openedSoon();
      }
      setRunId(id);
      setTab("run");
    } catch (e) {
      fail(e);
    }
  }, [file, g, fail, openedSoon, confirmLeave]);

  useGateLink(openRun, focusNode); // an approval's notification links to its gate

  const runActions = useMemo(() => {
    const act = (p: Promise<unknown>) => p.then((r) => revive(r as never)).catch(fail);
    return {
      onCancel: () => runId && void act(Api.cancel(runId)),
      onRetry: (node: string) => runId && void act(Api.retry(runId, node)),
      onDecide: (node: string, verdict: "approve" | "reject", comment: string) =>
        runId && void act(Api.decide(runId, node, verdict, comment)),
      onOpenRun: (id: string) => void openRun(id),
      onClose: () => setRunId(null),
    };
  }, [runId, revive, fail, openRun]);

  const exportDoc = useCallback(async (selection: boolean) => {
    const d = selection ? selectionDoc(meta, nodes, edges) : g.doc();
    if (selection && !d.nodes.length) return push("Select nodes to export first", "warning");
    try {
      const whole = await withIncludes(d, Api.exported); // the composites it uses, as `nebhx export` has them
      download(`${meta.name || "graph"}${selection ? "-selection" : ""}.json`, docJson(whole));
    } catch (e) {
      fail(e);
    }
  }, [g, meta, nodes, edges, push, fail]);

  /** A new, unsaved graph on the canvas (imported, or made from a template); false when the user kept theirs. */
  const replaceWith = useCallback(async (d: GraphDoc, why: string) => {
    if (!(await confirmLeave(why))) return false;
    setRunId(null);
    trail.clear();
    g.load(d, { id: null, revision: null, latest: null, readOnly: false }, false);
    setSpreadPending("import");
    fitSoon();
    return true;
  }, [confirmLeave, trail, g, fitSoon]);

  const importDoc = useCallback(async (d: GraphDoc, mode: "replace" | "add") => {
    setDialog(null);
    if (mode === "replace") {
      if (!(await replaceWith(d, "replace it with the imported graph"))) return;
    } else {
      const frag = pasteFragment(d, new Set(nodes.map((n) => n.id)), 0);
      setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...placeClear(frag.nodes, ns, palette)]);
      setEdges((es) => [...es, ...frag.edges]);
    }
    push(`Imported ${d.nodes.length} nodes`, "success");
  }, [nodes, setNodes, setEdges, push, replaceWith, palette]);

  const makeCanary = useCallback(async (body: CanaryRequest) => {
    const draft = await Api.canary(body);
    setDialog(null);
    if (!(await replaceWith(draft.graph, "replace it with the canary graph"))) return;
    push(`Made from ${draft.example} for ${body.service}: look it over, then Save and Run`, "success");
  }, [replaceWith, push]);

  const openGraph = useCallback(async (id: string, rev: number, latest: number) => {
    setDialog(null);
    if (!(await confirmLeave("open another graph"))) return;
    setRunId(null);
    trail.clear();
    g.open(id, rev, latest).then(openedSoon, fail);
  }, [confirmLeave, g, openedSoon, fail, trail]);

  const layout = useCallback(async () => {
    setNodes(await autoLayout(nodes, edges));
    fitSoon();
  }, [nodes, edges, setNodes, fitSoon]);

  const refuseTyped = useCallback((doing: string) => {
    setTab("problems");
    push(`Fix ${typed.map((p) => `${p.node}.${p.port}`).join(", ")} before ${doing}: `
         + "what is typed there is not valid, and the node still holds its last valid value", "warning");
  }, [typed, push]);

  const onAction = useCallback((a: ToolbarAction) => {
    const actions: Record<ToolbarAction, () => unknown> = {
      new: async () => {
        if (!(await confirmLeave("start a new graph"))) return;
        setRunId(null);
        trail.clear();
        g.load({ ...emptyMeta(), nodes: [], edges: [] }, { id: null, revision: null, latest: null, readOnly: false }, true);
      },
      open: () => setDialog("open"),
      canary: () => setDialog("canary"),
      save: () => {
        if (readOnly || !isAdmin) return;
        if (typed.length) return refuseTyped("saving");
        return save();
      },
      "edit-latest": () => file.id && file.latest && g.open(file.id, file.latest, file.latest).then(openedSoon, fail),
      import: () => isAdmin && setDialog("import"),
      export: () => exportDoc(false),
      "export-selection": () => exportDoc(true),
      undo: () => !readOnly && g.history.undo(),
      redo: () => !readOnly && g.history.redo(),
      layout: () => !readOnly && layout(),
      fit: () => fit({ duration: 300 }),
      run: async () => {
        if (!isOperator) return;
        if (typed.length && !readOnly) return refuseTyped("running");
        const found = readOnly ? [] : await validate(g.doc());
        if (found?.length) {
          setTab("problems");
          return push(`Fix the ${found.length} problem(s) before running`, "warning");
        }
        return meta.inputs.length ? setDialog("run") : startRun({});
      },
      plan: () => (meta.inputs.length ? setDialog("plan") : startPlan({})),
      composite: () => !readOnly && isAdmin && extract.start(),
      releases: () => setDialog("releases"),
      snapshots: () => setDialog("snapshots"),
      help: () => setDialog("help"),
      problems: () => setTab("problems"),
    };
    void actions[a]();
  }, [g, readOnly, save, file, fail, openedSoon, exportDoc, layout, fit, meta.inputs.length, startRun, validate, push,
      isAdmin, isOperator, confirmLeave, trail, startPlan, extract, typed, refuseTyped]);

  useShortcuts({
    "mod+z": () => onAction("undo"),
    "mod+shift+z": () => onAction("redo"),
    "mod+y": () => onAction("redo"),
    "mod+s": () => onAction("save"),
    "mod+o": () => onAction("open"),
    "shift+l": () => onAction("layout"),
    f: () => onAction("fit"),
    "?": () => onAction("help"),
    "mod+g": () => onAction("composite"),
    "mod+a": () => setNodes((ns) => ns.map((n) => ({ ...n, selected: true }))),
    "mod+c": () => { if (selected.length) clipboard.current = selectionDoc(meta, nodes, edges); },
    "mod+v": () => {
      if (!clipboard.current || readOnly) return;
      const frag = pasteFragment(clipboard.current, new Set(nodes.map((n) => n.id)));
      clipboard.current = { ...clipboard.current, nodes: clipboard.current.nodes.map((n) => ({
        ...n, position: { x: n.position.x + 40, y: n.position.y + 40 } })) };
      setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), ...placeClear(frag.nodes, ns, palette)]);
      setEdges((es) => [...es.map((e) => ({ ...e, selected: false })), ...frag.edges]);
    },
  });

  return (
    <PaletteContext.Provider value={palette}><EditorActionsContext.Provider value={editorActions}>
      <div className="nbx-app">
        <Toolbar name={meta.name} revision={file.revision} readOnly={readOnly} dirty={g.dirty}
                 canUndo={g.history.canUndo} canRedo={g.history.canRedo} problems={allProblems.length} hints={hints.length}
                 onAction={onAction} />
        <div className="nbx-main">
          <PalettePanel onReload={reloadPalette} loading={paletteLoading} readOnly={readOnly} />
          <div className="nbx-canvas" data-testid="canvas">
            <Breadcrumb trail={trail.trail} current={meta.name} revision={file.revision} readOnly={readOnly}
                        onBack={(i) => void trail.back(i)} />
            <Canvas nodes={compare.shown} edges={edges} onNodesChange={g.onNodesChange} onEdgesChange={g.onEdgesChange}
                    setEdges={setEdges} readOnly={readOnly} onDropBrick={addNode}
                    onRefuse={(m, offer) => push(m, offer ? "warning" : "danger", offer)} />
          </div>
          <SidePanel tab={tab} setTab={setTab} selected={selected} nodeList={nodeList} edges={edges} meta={meta}
                     setMeta={g.setMeta} readOnly={readOnly} problems={allProblems} hints={hints} onFocus={focusNode}
                     run={run} runs={runs} runActions={runActions} compare={compare} revision={file.revision}
                     latest={file.latest} />
        </div>
        <OpenDialog show={dialog === "open"} onHide={() => setDialog(null)} onError={fail}
                    onOpen={openGraph} />
        <CanaryDialog show={dialog === "canary"} onHide={() => setDialog(null)} onMake={makeCanary} />
        <ImportDialog show={dialog === "import"} onHide={() => setDialog(null)} onImport={importDoc} />
        <RunDialog show={dialog === "run"} inputs={meta.inputs} last={lastInputs} onHide={() => setDialog(null)}
                   onStart={startRun} />
        <RunDialog show={dialog === "plan"} inputs={meta.inputs} last={lastInputs} onHide={() => setDialog(null)} onStart={startPlan}
                   title="Plan the graph" submit="Plan" />
        <PlanDialog plan={planner.plan} loading={planner.planning} onHide={planner.close} />
        <ReleasesPanel show={dialog === "releases"} onHide={() => setDialog(null)}
          onOpenRun={(id) => { setDialog(null); void openRun(id); }} />
        <SnapshotsPanel show={dialog === "snapshots"} onHide={() => setDialog(null)} />
        <HelpDialog show={dialog === "help"} onHide={() => setDialog(null)} />
        <ExtractDialog count={extract.asking} onAnswer={extract.answer} />
        <UnsavedDialogs safe={safe} name={meta.name} canSave={isAdmin} saveTitle={isAdmin ? undefined : needsRole("admin")} />
        <Toasts toasts={toasts} dismiss={dismiss} />
      </div>
    </EditorActionsContext.Provider></PaletteContext.Provider>
  );
}
