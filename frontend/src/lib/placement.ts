// Where new nodes go: where they were put, unless that is on other nodes; then just below them.
import type { BrickNode } from "./graphDoc";
import { boxOf } from "./nodeBox";
import type { PaletteIndex } from "./palette";

export interface Rect { x: number; y: number; width: number; height: number }

const GAP = 24;
const hits = (a: Rect, b: Rect) =>
  a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP && a.y < b.y + b.height + GAP && b.y < a.y + a.height + GAP;

/** A node's box: as drawn when it was measured, else as it will be drawn. */
export function rectOf(n: BrickNode, palette: PaletteIndex): Rect {
  const size = n.measured?.width && n.measured?.height ? { width: n.measured.width, height: n.measured.height }
    : boxOf(n.id, n.data, palette.byId.get(n.data.brick));
  return { x: n.position.x, y: n.position.y, ...size };
}

/** How far down `moving` (nodes put together: a drop, a paste, an import) must go to clear `taken`:
 *  0 when it is clear already, else just below the lowest node it would land on, again as needed. */
export function clearance(moving: Rect[], taken: Rect[]): number {
  let dy = 0;
  for (let moved = true, rounds = 0; moved && rounds < 10_000; rounds++) {
    moved = false;
    for (const m of moving) {
      const at = { ...m, y: m.y + dy };
      for (const t of taken) {
        if (hits(at, t)) {
          dy = Math.ceil(t.y + t.height + GAP - m.y);
          moved = true;
          break;
        }
      }
      if (moved) break;
    }
  }
  return dy;
}

/** `added` moved down as a group, where needed, so that none lands on `present`. */
export function placeClear(added: BrickNode[], present: BrickNode[], palette: PaletteIndex): BrickNode[] {
  const dy = clearance(added.map((n) => rectOf(n, palette)), present.map((n) => rectOf(n, palette)));
  return dy ? added.map((n) => ({ ...n, position: { x: n.position.x, y: n.position.y + dy } })) : added;
}
