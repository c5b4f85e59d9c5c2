// An export carries the composites it uses, as `nebhx export` does: `includes` maps each
// `<graph id>@<revision>` used, directly or nested, to that revision's document as saved.
import type { GraphDoc } from "../types";
import { compositePin } from "./palette";

type Doc = Record<string, unknown> & { nodes?: { brick?: unknown }[] };
/** A stored revision's export (GET /api/graphs/{id}/revisions/{n}), with its own includes. */
export type FetchRevision = (graph: string, revision: number) => Promise<Doc>;

const refs = (doc: Doc) => (doc.nodes ?? []).flatMap((n) => {
  const pin = typeof n.brick === "string" ? compositePin(n.brick) : null;
  return pin && pin.revision !== null ? [`${pin.graph}@${pin.revision}`] : [];
});

/** `doc` with `includes` when it uses composites (pinned to a revision), unchanged otherwise. */
export async function withIncludes(doc: GraphDoc, fetch: FetchRevision): Promise<GraphDoc & { includes?: Record<string, Doc> }> {
  const includes: Record<string, Doc> = {};
  const todo = refs(doc as unknown as Doc);
  while (todo.length) {
    const key = todo.pop()!;
    if (key in includes) continue;
    const at = key.lastIndexOf("@");
    const { includes: nested, ...inner } = await fetch(key.slice(0, at), Number(key.slice(at + 1)));
    includes[key] = inner;
    // The server's export lists what that revision uses, nested or not.
    for (const [k, v] of Object.entries((nested ?? {}) as Record<string, Doc>)) if (!(k in includes)) includes[k] = v;
    todo.push(...refs(inner));
  }
  const keys = Object.keys(includes).sort();
  return keys.length ? { ...doc, includes: Object.fromEntries(keys.map((k) => [k, includes[k]])) } : doc;
}
