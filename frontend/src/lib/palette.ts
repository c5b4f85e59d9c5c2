import { createContext, useContext } from "react";
import type { BrickSpec, Palette } from "../types";
import { DEFAULT_PARENTS } from "./wiring";

/** A composite pinned to a revision (`composite:<graph id>@<revision>`): its graph id and revision. */
export function compositePin(brick: string): { base: string; graph: string; revision: number | null } | null {
  const m = /^composite:(.+?)(?:@(\d+))?$/.exec(brick);
  return m ? { base: `composite:${m[1]}`, graph: m[1], revision: m[2] ? Number(m[2]) : null } : null;
}

/** Bricks by id; a composite node's `composite:<graph id>@<revision>` finds the palette's
 *  `composite:<graph id>` (the palette lists each stored graph once, at its latest revision). */
export class BrickMap extends Map<string, BrickSpec> {
  override get(id: string): BrickSpec | undefined {
    return super.get(id) ?? (id.startsWith("composite:") ? super.get(id.replace(/@\d+$/, "")) : undefined);
  }
}

/** A newer revision of a composite node's graph than the one it is pinned to, if the palette has one. */
export function newerRevision(byId: Map<string, BrickSpec>, brick: string): number | null {
  const pin = compositePin(brick);
  const latest = pin ? byId.get(pin.base)?.revision : undefined;
  return pin && pin.revision !== null && latest && latest > pin.revision ? latest : null;
}

export interface PaletteIndex {
  byId: Map<string, BrickSpec>;
  parents: Record<string, string>;
  palette: Palette;
}

export function indexPalette(palette: Palette): PaletteIndex {
  return {
    byId: new BrickMap(palette.bricks.map((b) => [b.id, b])),
    parents: palette.type_parents ?? DEFAULT_PARENTS,
    palette,
  };
}

/** The palette fetched, or the one shown when nothing in it changed: every node reads it, and a
 *  new object draws them all again (on 500 nodes, 150 ms after each open of a saved graph). */
export function nextPalette(shown: PaletteIndex, fetched: Palette): PaletteIndex {
  return JSON.stringify(shown.palette) === JSON.stringify(fetched) ? shown : indexPalette(fetched);
}

export const emptyPalette = indexPalette({ bricks: [], errors: [], type_parents: DEFAULT_PARENTS });
export const PaletteContext = createContext<PaletteIndex>(emptyPalette);
export const usePalette = () => useContext(PaletteContext);

/** Bricks by category (in the order of their titles), filtered by a search over id, title, category and docs. */
export function groupBricks(bricks: BrickSpec[], query: string): [string, BrickSpec[]][] {
  const q = query.trim().toLowerCase();
  const groups = new Map<string, BrickSpec[]>();
  for (const b of bricks) {
    const hay = `${b.id} ${b.title} ${b.category} ${categoryTitle(b.category)} ${b.docs ?? ""}`.toLowerCase();
    if (q && !q.split(/\s+/).every((w) => hay.includes(w))) continue;
    const list = groups.get(b.category) ?? [];
    list.push(b);
    groups.set(b.category, list);
  }
  return [...groups.entries()].sort(([a], [b]) => categoryTitle(a).localeCompare(categoryTitle(b)));
}

/** What the palette calls each brick category; an unknown one is its name, title-cased. */
export const CATEGORY_TITLES: Record<string, string> = {
  check: "Health checks", composite: "Composite graphs", config: "Configuration", core: "Core glue", gate: "Gates", hosts: "Hosts",
  lb: "Load balancer", notify: "Notifications", release: "Releases", rollout: "Rollout", service: "Services",
  storage: "Storage", test: "Test bricks",
};

export function categoryTitle(category: string): string {
  if (CATEGORY_TITLES[category]) return CATEGORY_TITLES[category];
  const words = category.split(/[\s_.-]+/).filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(" ") || "Other";
}

const KNOWN: Record<string, string> = {
  string: "#0d9488", number: "#2563eb", integer: "#4f46e5", boolean: "#d97706",
  object: "#7c3aed", any: "#6b7280", Secret: "#dc2626", Url: "#0891b2",
  VolumeUrl: "#0e7490", Address: "#059669", HostRef: "#65a30d",
};

/** A stable colour for a port type (arrays take their item's colour). */
export function typeColor(type: string): string {
  const base = type.replace(/(\[\])+$/, "");
  if (KNOWN[base]) return KNOWN[base];
  let h = 0;
  for (const ch of base) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h} 60% 45%)`;
}
