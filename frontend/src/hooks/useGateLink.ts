import { useEffect } from "react";

/** `#/runs/RUN` or `#/runs/RUN/nodes/NODE` (the link an approval's notification carries):
 *  the run's id and node, or null for any other hash. */
export function parseRunLink(hash: string): { run: string; node: string | null } | null {
  const m = /^#\/runs\/([^/?#]+)(?:\/nodes\/([^?#]+))?$/.exec(hash);
  if (!m) return null;
  try {
    return { run: decodeURIComponent(m[1]), node: m[2] ? decodeURIComponent(m[2]) : null };
  } catch {
    return null; // a malformed escape: not a link of ours
  }
}

/** Opens the run a link names (with its graph) and selects the node, on load and whenever the
 *  hash changes; the hash is cleared afterwards so a reload does not open it again. */
export function useGateLink(openRun: (id: string) => Promise<void>, focusNode: (id: string) => void) {
  useEffect(() => {
    const follow = () => {
      const link = parseRunLink(window.location.hash);
      if (!link) return;
      history.replaceState(null, "", window.location.pathname + window.location.search);
      void openRun(link.run).then(() => { if (link.node) focusNode(link.node); });
    };
    follow();
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, [openRun, focusNode]);
}
