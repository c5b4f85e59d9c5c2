// A brick node's box and handle places, computed instead of measured.
//
// Opening a large graph zoomed far out used to draw every node in full, wait for React Flow to
// measure each one, then draw them all again as far views (bench/editor_render.py). Far out a
// node is a plain box of this size with its handles where the full node has them, and a graph
// that opens far out is given these sizes up front (usePlaceNodes). The numbers follow
// styles.css (.nbx-node-head, .nbx-node-ids, .nbx-ports, .nbx-port), where heights are fixed;
// tests/e2e/test_editor_far_geometry.py checks the two agree for every brick.
import type { BrickSpec } from "../types";
import type { BrickNodeData } from "./graphDoc";

/** Below this zoom a node's ports and ids are unreadable: it shows its title, filled with its status colour. */
export const FAR_ZOOM = 0.6;

const BORDER = 1;
const HEAD = 26;
const IDS = 22;
const PORTS_PAD = 4;
const ROW = 18;
const ROW_GAP = 2;
const MIN_WIDTH = 220;
const MAX_WIDTH = 320;

export interface NodeBox {
  width: number;
  height: number;
}

/** The vertical centre of the index-th port row, from the top of the node's padding box. */
export const portCentre = (index: number) => HEAD + IDS + PORTS_PAD + index * (ROW + ROW_GAP) + ROW / 2;

function nodeHeight(spec: BrickSpec | undefined): number {
  const rows = Math.max(spec?.inputs.length ?? 0, spec?.outputs.length ?? 0);
  return 2 * BORDER + HEAD + IDS + 2 * PORTS_PAD + rows * ROW + Math.max(0, rows - 1) * ROW_GAP;
}

let context: OffscreenCanvasRenderingContext2D | null | undefined;
const fonts = { sans: "system-ui, sans-serif", mono: "monospace" };
let lastFont = "";
const widths = new Map<string, number>();  // a graph repeats its port names, types and bricks

function measure(text: string, font: string): number {
  if (context === undefined) {
    // jsdom (the unit tests) has no OffscreenCanvas: widths are then estimated from the length.
    context = typeof OffscreenCanvas === "undefined" ? null : new OffscreenCanvas(1, 1).getContext("2d");
    const root = getComputedStyle(document.documentElement);
    fonts.sans = root.getPropertyValue("--bs-body-font-family").trim() || fonts.sans;
    fonts.mono = root.getPropertyValue("--bs-font-monospace").trim() || fonts.mono;
  }
  const px = parseFloat(font.split(" ").find((p) => p.endsWith("px")) ?? "12");
  if (!context) return text.length * 0.6 * px;
  const css = font.replace("SANS", fonts.sans).replace("MONO", fonts.mono);
  if (font !== lastFont) {
    context.font = css;
    lastFont = font;
  }
  return context.measureText(text).width;
}

function textWidth(text: string, font: string): number {
  const key = `${font}\u0000${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    width = measure(text, font);
    if (widths.size > 5000) widths.clear();
    widths.set(key, width);
  }
  return width;
}

interface Shown {
  id: string;
  title: string;
  brick: string;
  icon?: string;
  forEach?: string;
}

/** The width the full node takes: its widest line (head, ids or ports), kept between 220 and 320 px. */
function nodeWidth(spec: BrickSpec | undefined, shown: Shown): number {
  const icon = shown.icon ? (/^[a-z0-9-]+$/.test(shown.icon) ? 13 : textWidth(shown.icon, "600 13px SANS")) + 4 + 6.4 : 0;
  const head = 16 + icon + textWidth(shown.title, "600 13px SANS");
  const code = (s: string) => textWidth(s, "9.625px MONO");
  const ids = 16 + code(shown.brick) + textWidth(" · ", "11px SANS") + code(shown.id) +
    (shown.forEach ? textWidth(" · each ", "11px SANS") + code(shown.forEach) : 0);
  const row = (name: string, type: string, required: boolean) => 19.2 + textWidth(name, "12px SANS") +
    (required ? 1 + textWidth("*", "12px SANS") : 0) + 4.8 + textWidth(type, "10px SANS");
  const widest = (rows: number[]) => Math.max(0, ...rows);
  const ins = spec?.inputs.map((p) => row(p.name, p.name === shown.forEach ? `${p.type}[]` : p.type, p.required));
  const outs = spec?.outputs.map((p) => row(p.name, shown.forEach ? `${p.type}[]` : p.type, false));
  const ports = widest(ins ?? []) + 12 + widest(outs ?? []);
  return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.ceil(2 * BORDER + Math.max(head, ids, ports))));
}

export function nodeBox(spec: BrickSpec | undefined, shown: Shown): NodeBox {
  return { width: nodeWidth(spec, shown), height: nodeHeight(spec) };
}

/** The box of a node as BrickNode draws it. */
export function boxOf(id: string, data: BrickNodeData, spec: BrickSpec | undefined): NodeBox {
  const forEach = typeof data.extra.for_each === "string" ? data.extra.for_each : undefined;
  return nodeBox(spec, { id, title: data.label || spec?.title || data.brick, brick: data.brick,
                         icon: spec?.icon ?? undefined, forEach });
}

const fits = new Map<string, number>();

/**
 * The largest font (px, in flow units) at which the far view's `title` fits its box, broken only
 * between words: every word on one line (no "Rend|er config"), every line inside the box. The far
 * view shows it at this size or at the zoom's size, whichever is smaller. `status`: a line is kept
 * for the status under the title.
 */
export function farTitleFont(title: string, box: NodeBox, status = false): number {
  const key = `${title}\u0000${box.width}\u0000${box.height}\u0000${status}`;
  const hit = fits.get(key);
  if (hit !== undefined) return hit;
  const words = title.split(/\s+/).filter(Boolean).map((w) => textWidth(w, "600 100px SANS") / 100);
  const space = textWidth(" ", "600 100px SANS") / 100;
  // The border (3 px a side) and padding (0.15 em a side) of .nbx-far-view; a margin for rounding.
  const lines = (font: number) => {
    const room = (box.width - 6) / font - 0.3;
    let count = 1, used = 0;
    for (const w of words) {
      if (w > room * 0.95) return Infinity;
      used = used ? used + space + w : w;
      if (used > room * 0.95) { count += 1; used = w; }
    }
    return count;
  };
  const height = (box.height - 6) * (status ? 0.7 : 1);
  let lo = 1, hi = 200;
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (lines(mid) * 1.1 * mid + 0.3 * mid <= height) lo = mid;
    else hi = mid;
  }
  const font = Math.floor(lo * 10) / 10;
  if (fits.size > 5000) fits.clear();
  fits.set(key, font);
  return font;
}
