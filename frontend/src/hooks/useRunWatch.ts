// Follows one run: loads it, then applies its event stream (EventSource) to the canvas.
import { useCallback, useEffect, useRef, useState } from "react";
import { Api, eventsUrl } from "../api/client";
import { logStore, runStore } from "../lib/overlay";
import { ENDED_RUN_STATUSES } from "../lib/statuses";
import type { Run, RunEvent } from "../types";

const TERMINAL = ENDED_RUN_STATUSES;

/** `session` changes on each sign-in: the stream (refused while signed out) starts again. */
export function useRunWatch(runId: string | null, onError: (message: string) => void, session = 0) {
  const [run, setRun] = useState<Run | null>(null);
  const [generation, setGeneration] = useState(0);
  const lastId = useRef(0);
  const watched = useRef<string | null>(null);
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;

  const show = useCallback((r: Run) => {
    setRun(r);
    runStore.set(r.nodes ?? {});
  }, []);

  const refresh = useCallback(async (id: string): Promise<Run | null> => {
    try {
      const r = await Api.run(id);
      show(r);
      return r;
    } catch (e) {
      onErrorRef.current(`Could not load run: ${(e as Error).message}`);
      return null;
    }
  }, [show]);

  useEffect(() => {
    if (!runId) {
      setRun(null);
      runStore.set({});
      lastId.current = 0;
      return;
    }
    if (watched.current !== runId) {
      watched.current = runId;
      lastId.current = 0;
      logStore.set({});
    }
    let closed = false;
    let pending: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      clearTimeout(pending);
      pending = setTimeout(() => !closed && void refresh(runId), 150);
    };
    let source: EventSource | null = null;
    const follow = () => {
      const stream = new EventSource(eventsUrl(runId, lastId.current));
      source = stream;
      // The server names each event by its kind ("run", "node", "log").
      const onEvent = (msg: MessageEvent<string>) => {
        let ev: RunEvent;
        try {
          ev = JSON.parse(msg.data) as RunEvent;
        } catch {
          return;
        }
        lastId.current = Math.max(lastId.current, Number(ev.id) || 0);
        if (ev.kind === "log") {
          if (ev.node) logStore.set({ ...logStore.get(), [ev.node]: (logStore.get()[ev.node] ?? 0) + 1 });
          return;
        }
        if (ev.kind === "node" && ev.node && ev.status) {
          const prev = runStore.get()[ev.node];
          runStore.set({ ...runStore.get(), [ev.node]: { ...(prev ?? emptyNode()), status: ev.status as never } });
        }
        later();
        if (ev.kind === "run" && ev.status && TERMINAL.has(ev.status)) {
          stream.close();
        }
      };
      for (const kind of ["run", "node", "log", "message"]) stream.addEventListener(kind, onEvent);
      stream.onerror = () => {
        // The browser reconnects with Last-Event-ID. A refused stream (an ended session, say) is
        // closed: loading the run then tells why (a 401 shows the login page).
        if (stream.readyState === EventSource.CLOSED && !closed) void refresh(runId);
      };
    };
    // An ended run has nothing more to tell: its stream would replay every event it already
    // shows (a 100-host rollout's 1,500 kept the editor busy for seconds before its grid showed).
    void refresh(runId).then((r) => {
      if (!closed && !(r && TERMINAL.has(r.status))) follow();
    });
    return () => {
      closed = true;
      clearTimeout(pending);
      source?.close();
    };
  }, [runId, generation, refresh, session]);

  /** Follow the stream again after an action that revives the run (retry, approve). */
  const revive = useCallback((r: Run) => {
    show(r);
    setGeneration((g) => g + 1);
  }, [show]);

  return { run, revive, refresh };
}

function emptyNode() {
  return { status: "pending" as const, attempt: 0, inputs: null, outputs: null, error: null,
           started_at: null, finished_at: null, duration_s: null, host: null };
}
