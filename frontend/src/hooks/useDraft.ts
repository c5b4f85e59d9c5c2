// The unsaved graph, kept in localStorage while it is unsaved, offered back after a reload;
// and the browser's own warning when the page is left with unsaved work.
import { useCallback, useEffect, useState } from "react";
import type { GraphDoc } from "../types";
import type { FileState } from "./useGraphFile";

export const DRAFT_KEY = "nebhx.unsaved-graph";

export interface Draft {
  doc: GraphDoc;
  file: FileState;
  /** When it was kept (ms since the epoch). */
  at: number;
}

export function readDraft(): Draft | null {
  try {
    const raw = localStorage.getItem(DRAFT_KEY);
    const d = raw ? (JSON.parse(raw) as Draft) : null;
    return d && d.doc && Array.isArray(d.doc.nodes) && d.file ? d : null;
  } catch {
    return null;
  }
}

function keep(d: Draft | null) {
  try {
    if (d) localStorage.setItem(DRAFT_KEY, JSON.stringify(d));
    else localStorage.removeItem(DRAFT_KEY);
  } catch {
    // Storage full or refused: the beforeunload warning still guards the work.
  }
}

/**
 * `snapshot` is the graph as last recorded (serialized), `dirty` whether it differs from what
 * is saved. The draft found at start is `offer` until `settle` says what became of it.
 */
export function useDraft(snapshot: string | null, dirty: boolean, file: FileState) {
  const [offer, setOffer] = useState<Draft | null>(readDraft);
  useEffect(() => {
    if (offer) return; // not yet answered: the stored draft stays as it is
    if (!dirty || file.readOnly) keep(null);
    else if (snapshot) keep({ doc: JSON.parse(snapshot) as GraphDoc, file, at: Date.now() });
  }, [offer, snapshot, dirty, file]);
  useEffect(() => {
    if (!dirty || file.readOnly) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = ""; // older browsers need it set
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, file.readOnly]);
  const settle = useCallback(() => setOffer(null), []);
  return { offer, settle };
}
