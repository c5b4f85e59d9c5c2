// A question put to the user in a dialog, answered later: `ask` returns a promise of the answer.
import { useCallback, useRef, useState } from "react";

export function useAsk<Q, A>() {
  const [question, setQuestion] = useState<Q | null>(null);
  const resolver = useRef<((a: A) => void) | null>(null);
  const ask = useCallback((q: Q) => new Promise<A>((resolve) => {
    resolver.current = resolve;
    setQuestion(q);
  }), []);
  const answer = useCallback((a: A) => {
    const resolve = resolver.current;
    resolver.current = null;
    setQuestion(null);
    resolve?.(a);
  }, []);
  return { question, ask, answer };
}
