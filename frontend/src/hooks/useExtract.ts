// "Make composite": the selected nodes saved as a graph of their own, replaced by one node of it.
import { useCallback, useEffect, useRef } from "react";
import { Api } from "../api/client";
import { extractSelection } from "../lib/extract";
import { placeClear } from "../lib/placement";
import type { PaletteIndex } from "../lib/palette";
import { useAsk } from "./useAsk";
import type { useGraphFile } from "./useGraphFile";

type GraphFile = ReturnType<typeof useGraphFile>;
type Push = (message: string, variant: "success" | "warning" | "danger") => void;

export function useExtract(g: GraphFile, palette: PaletteIndex, reloadPalette: () => Promise<unknown>,
                           push: Push, fail: (e: unknown) => void) {
  const { question, ask, answer } = useAsk<number, string | null>();
  const { nodes, edges, meta, setNodes, setEdges, setMeta, history } = g;
  // The last selection made a composite: an undo brings its nodes back, selected as they were
  // (history snapshots keep the graph, not which nodes were selected).
  const last = useRef<{ ids: string[]; node: string; graph: string | null } | null>(null);
  useEffect(() => {
    const was = last.current;
    if (!was) return;
    if (was.graph !== g.file.id) return void (last.current = null);
    const present = new Set(nodes.map((n) => n.id));
    if (present.has(was.node) || !was.ids.every((id) => present.has(id))) return;
    last.current = null;
    const picked = new Set(was.ids);
    setNodes((ns) => ns.map((n) => (!!n.selected === picked.has(n.id) ? n : { ...n, selected: picked.has(n.id) })));
  }, [nodes, g.file.id, setNodes]);

  const start = useCallback(async () => {
    const count = nodes.filter((n) => n.selected).length;
    if (!count) return push("Select the nodes to make a composite of first", "warning");
    const name = await ask(count);
    if (name === null) return;
    const made = extractSelection(meta, nodes, edges, name, (id) => palette.byId.get(id));
    if (typeof made === "string") return push(made, "warning");
    try {
      const saved = await Api.create(made.doc);
      // The graph as it was is one undo away (a snapshot may still be due from the last edit).
      history.record();
      const next = made.replace(`composite:${saved.id}@${saved.revision}`);
      await reloadPalette().catch(() => undefined); // the node's ports come from the palette
      // The new node goes where the selection began, or just below what is there.
      const node = next.nodes.find((n) => n.selected)!;
      const rest = next.nodes.filter((n) => n !== node);
      setNodes([...rest, ...placeClear([node], rest, palette)]);
      setEdges(next.edges);
      setMeta(next.meta);
      last.current = { ids: nodes.filter((n) => n.selected).map((n) => n.id), graph: g.file.id,
                       node: node.id };
      push(`Composite ${saved.name} saved as graph ${saved.id} (revision ${saved.revision})`, "success");
    } catch (e) {
      fail(e);
    }
  }, [nodes, edges, meta, palette, ask, push, fail, reloadPalette, history, setNodes, setEdges, setMeta, g.file.id]);

  return { start, asking: question, answer };
}
