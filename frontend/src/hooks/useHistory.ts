// Undo/redo over snapshots of the graph document. A snapshot is taken when the graph has
// been still for a moment, so a drag or a burst of typing is one step.
import { useCallback, useEffect, useRef, useState } from "react";

const IDLE_MS = 250;
const LIMIT = 200;

export function useHistory(serialize: () => string, deps: unknown[], restore: (json: string) => void,
                           onContent: (json: string) => void) {
  const past = useRef<string[]>([]);
  const future = useRef<string[]>([]);
  const current = useRef<string | null>(null);
  const restoring = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const serializeRef = useRef(serialize);
  serializeRef.current = serialize;
  const onContentRef = useRef(onContent);
  onContentRef.current = onContent;
  const [, setVersion] = useState(0);

  const record = useCallback(() => {
    clearTimeout(timer.current);
    const now = serializeRef.current();
    if (now === current.current) return;
    if (current.current !== null && !restoring.current) {
      past.current.push(current.current);
      if (past.current.length > LIMIT) past.current.shift();
      future.current = [];
    }
    restoring.current = false;
    current.current = now;
    setVersion((v) => v + 1);
    onContentRef.current(now);
  }, []);

  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(record, IDLE_MS);
    return () => clearTimeout(timer.current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  const step = useCallback((from: React.RefObject<string[]>, to: React.RefObject<string[]>) => {
    record();
    const target = from.current.pop();
    if (target === undefined || current.current === null) return;
    to.current.push(current.current);
    current.current = target;
    restoring.current = true;
    setVersion((v) => v + 1);
    restore(target);
    onContentRef.current(target);
  }, [record, restore]);

  const undo = useCallback(() => step(past, future), [step]);
  const redo = useCallback(() => step(future, past), [step]);

  /** Forget the history: a graph was opened, imported or created. */
  const reset = useCallback(() => {
    // A snapshot still due would catch the graph being replaced, and make it an undo step.
    clearTimeout(timer.current);
    past.current = [];
    future.current = [];
    current.current = null;
    setVersion((v) => v + 1);
  }, []);

  return {
    undo, redo, reset, record,
    canUndo: past.current.length > 0,
    canRedo: future.current.length > 0,
    current: () => current.current,
  };
}
