// The wiring rule, the same as the server's `fits` (backend/nebhx/bricks/types.py).
import type { BrickSpec, Port } from "../types";

export const SECRET = "Secret";
export const ANY = "any";
export const DEFAULT_PARENTS: Record<string, string> = {
  VolumeUrl: "Url",
  Url: "string",
  Address: "string",
  HostRef: "string",
  integer: "number",
};

export function ancestors(t: string, parents: Record<string, string>): string[] {
  const chain = [t];
  while (parents[chain[chain.length - 1]] && chain.length < 64) {
    chain.push(parents[chain[chain.length - 1]]);
  }
  return chain;
}

export function fits(outT: string, inT: string, parents = DEFAULT_PARENTS): boolean {
  if (outT === SECRET || inT === SECRET) return outT === inT;
  if (outT === ANY || inT === ANY) return true;
  const outArr = outT.endsWith("[]");
  const inArr = inT.endsWith("[]");
  if (outArr || inArr) return outArr && inArr && fits(outT.slice(0, -2), inT.slice(0, -2), parents);
  return ancestors(outT, parents).includes(inT);
}

/** Why a wire from `out` into `inp` is refused, or null when it fits. */
export function wireProblem(out: Port | undefined, inp: Port | undefined,
                            parents = DEFAULT_PARENTS): string | null {
  if (!out || !inp) return "unknown port";
  if (fits(out.type, inp.type, parents)) return null;
  return `${out.name} (${out.type}) does not fit ${inp.name} (${inp.type})`;
}

export interface WireEnds {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

export interface WireContext {
  brickOf: (nodeId: string) => BrickSpec | undefined;
  edges: WireEnds[];
  parents: Record<string, string>;
  /** The input a node runs once per item of (its `for_each`), if any. */
  forEachOf?: (nodeId: string) => string | undefined;
}

/** The port types a wire really carries around fan-out nodes, as the server's check has them. */
export function fanOutTypes(out: Port, inp: Port, srcEach: string | undefined, dstEach: string | undefined):
    [Port, Port] {
  const list = (p: Port) => ({ ...p, type: `${p.type}[]` });
  if (dstEach === inp.name) return [srcEach ? list(out) : out, list(inp)];
  if (srcEach && !dstEach) return [list(out), inp];
  return [out, inp];
}

export const ORDER_IN = "__order_in";
export const ORDER_OUT = "__order_out";

export function isControl(c: WireEnds): boolean {
  return c.sourceHandle === ORDER_OUT || c.targetHandle === ORDER_IN;
}

/** The reason a new connection is refused, or null when it may be drawn. */
export function connectionProblem(c: WireEnds, ctx: WireContext): string | null {
  if (c.source === c.target) return "a node cannot be wired to itself";
  if (isControl(c)) {
    if (c.sourceHandle !== ORDER_OUT || c.targetHandle !== ORDER_IN) {
      return "an order wire goes from an order handle to an order handle";
    }
    const dup = ctx.edges.some((e) => isControl(e) && e.source === c.source && e.target === c.target);
    return dup ? "these nodes are already ordered" : null;
  }
  const src = ctx.brickOf(c.source);
  const dst = ctx.brickOf(c.target);
  let out = src?.outputs.find((p) => p.name === c.sourceHandle);
  let inp = dst?.inputs.find((p) => p.name === c.targetHandle);
  if (out && inp && ctx.forEachOf) [out, inp] = fanOutTypes(out, inp, ctx.forEachOf(c.source), ctx.forEachOf(c.target));
  const why = wireProblem(out, inp, ctx.parents);
  if (why) return why;
  const taken = ctx.edges.some((e) => e.target === c.target && e.targetHandle === c.targetHandle);
  return taken ? `input ${c.targetHandle} already has a wire` : null;
}

/**
 * The input a refused wire would fit if the target node ran once per item of it (`for_each`): a
 * list into a port of one value. Null when for_each would not take it (the node fans out over
 * another input already, is a composite, or the items do not fit either).
 */
export function forEachOffer(c: WireEnds, ctx: WireContext): string | null {
  if (isControl(c) || !c.targetHandle || connectionProblem(c, ctx) === null) return null;
  const brick = ctx.brickOf(c.target);
  if (!brick || brick.id.startsWith("composite:") || ctx.forEachOf?.(c.target)) return null;
  const each = (id: string) => (id === c.target ? c.targetHandle ?? undefined : ctx.forEachOf?.(id));
  return connectionProblem(c, { ...ctx, forEachOf: each }) === null ? c.targetHandle : null;
}
