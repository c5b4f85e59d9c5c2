// Saving and replacing the graph without losing work: a confirmation before unsaved work is
// replaced, a choice before a new graph is saved under the name of a stored one, and the
// unsaved graph kept in this browser and offered back after a reload.
import { useCallback } from "react";
import { Api } from "../api/client";
import { emptyMeta } from "../lib/graphDoc";
import type { GraphSummary } from "../types";
import type { LeaveAnswer, SaveAsAnswer } from "../components/UnsavedDialogs";
import { useAsk } from "./useAsk";
import { useDraft } from "./useDraft";
import type { useGraphFile } from "./useGraphFile";

type GraphFile = ReturnType<typeof useGraphFile>;

export function useSafeFile(g: GraphFile, push: (m: string, v: "success") => void, fail: (e: unknown) => void,
                            onRestored: () => void) {
  const leave = useAsk<string, LeaveAnswer>();
  const saveAs = useAsk<GraphSummary, SaveAsAnswer>();
  const draft = useDraft(g.history.current(), g.dirty, g.file);
  const { file, meta } = g;

  const save = useCallback(async () => {
    try {
      let target = file.id;
      if (!target && meta.name !== emptyMeta().name) {
        // Not stored yet (imported, say): a stored graph of the same name (the newest) may be what is meant.
        // Not asked for the placeholder name of a new graph: other new graphs have it too.
        const same = (await Api.graphs()).filter((x) => x.name === meta.name)
          .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
        if (same.length) {
          const a = await saveAs.ask(same[0]);
          if (a === "cancel") return null;
          if (a === "revision") target = same[0].id;
        }
      }
      const res = await g.save(target);
      push(`Saved revision ${res.revision}${target && target !== file.id ? ` of ${meta.name} (${target})` : ""}`, "success");
      return res;
    } catch (e) {
      fail(e);
      return null;
    }
  }, [g, file.id, meta.name, saveAs, push, fail]);

  /** Whether unsaved work may be replaced now: asks (save / discard / cancel) when there is some. */
  const confirmLeave = useCallback(async (what: string) => {
    if (file.readOnly || !g.isDirty()) return true;
    const a = await leave.ask(what);
    if (a === "cancel") return false;
    return a === "discard" || (await save()) !== null;
  }, [file.readOnly, g, leave, save]);

  const restore = useCallback((yes: boolean) => {
    const d = draft.offer;
    draft.settle();
    if (!yes || !d) return;
    g.load(d.doc, { ...d.file, readOnly: false }, false);
    onRestored();
  }, [draft, g, onRestored]);

  return { save, confirmLeave, leave, saveAs, offer: draft.offer, restore };
}
export type SafeFile = ReturnType<typeof useSafeFile>;
