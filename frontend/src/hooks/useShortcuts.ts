import { useEffect, useRef } from "react";

export type Shortcuts = Record<string, () => void>;

/** Key names: "mod+z" (Ctrl or Cmd), "mod+shift+z", "shift+l", "f", "?". */
export function keyName(e: KeyboardEvent): string {
  const parts: string[] = [];
  if (e.ctrlKey || e.metaKey) parts.push("mod");
  if (e.shiftKey && e.key.length === 1 && /[a-z]/i.test(e.key)) parts.push("shift");
  parts.push(e.key.toLowerCase());
  return parts.join("+");
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable;
}

export function useShortcuts(shortcuts: Shortcuts, enabled = true) {
  const ref = useRef(shortcuts);
  ref.current = shortcuts;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (typing(e.target) || document.querySelector(".modal.show")) return;
      const run = ref.current[keyName(e)];
      if (run) {
        e.preventDefault();
        run();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [enabled]);
}
