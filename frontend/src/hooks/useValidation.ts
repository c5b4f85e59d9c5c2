// Live validation: the server checks the graph; problems go to the overlay store.
import { useCallback, useEffect, useRef, useState } from "react";
import { Api, ApiError } from "../api/client";
import { groupProblems, problemStore } from "../lib/overlay";
import type { GraphDoc, Problem } from "../types";

export function useValidation() {
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const validate = useCallback(async (doc: GraphDoc) => {
    abort.current?.abort();
    const ctrl = new AbortController();
    abort.current = ctrl;
    setChecking(true);
    let found: Problem[] = [];
    try {
      found = (await Api.validate(doc, ctrl.signal)).problems ?? [];
    } catch (e) {
      if (ctrl.signal.aborted) return;
      found = e instanceof ApiError && e.problems.length ? e.problems
        : [{ node: null, port: null, code: "unreachable", message: `validation failed: ${(e as Error).message}`, path: "" }];
    }
    if (ctrl.signal.aborted) return;
    setChecking(false);
    setProblems(found);
    problemStore.set(groupProblems(found));
  }, []);

  useEffect(() => () => abort.current?.abort(), []);
  return { problems, checking, validate };
}
