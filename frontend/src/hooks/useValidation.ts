// Live validation: the server checks the graph; problems go to the overlay store.
import { useCallback, useEffect, useRef, useState } from "react";
import { Api, ApiError } from "../api/client";
import { groupProblems, problemStore } from "../lib/overlay";
import type { GraphDoc, Problem } from "../types";

export function useValidation() {
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const abort = useRef<AbortController | null>(null);

  /** Check a document; the problems found, or null when a newer check superseded this one. */
  const validate = useCallback(async (doc: GraphDoc): Promise<Problem[] | null> => {
    abort.current?.abort();
    const ctrl = new AbortController();
    abort.current = ctrl;
    setChecking(true);
    let found: Problem[] = [];
    try {
      found = (await Api.validate(doc, ctrl.signal)).problems ?? [];
    } catch (e) {
      if (ctrl.signal.aborted) return null;
      found = e instanceof ApiError && e.problems.length ? e.problems
        : [{ node: null, port: null, code: "unreachable", message: `validation failed: ${(e as Error).message}`, path: "" }];
    }
    if (ctrl.signal.aborted) return null;
    setChecking(false);
    setProblems(found);
    problemStore.set(groupProblems(found));
    return found;
  }, []);

  useEffect(() => () => abort.current?.abort(), []);
  return { problems, checking, validate };
}
