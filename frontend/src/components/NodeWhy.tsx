// "Why does this run?" in a deployed node's side panel: the same chain as the Releases panel's
// Why (WhyView), for each host the node deployed to as the run shown says; with no run of it
// shown, for the host and service set on the node itself.
import { useMemo, useState } from "react";
import { Button } from "react-bootstrap";
import type { Run } from "../types";
import { WhyView } from "./WhyView";

type RunNode = Run["nodes"][string];
export interface WhyTarget { host: string; service: string; instance: string | null }

/** The bricks that leave a service running on a host (the ones `nebhx why` explains). */
export const deploys = (brick: string) => brick === "service.run" || brick === "release.switch" || brick.startsWith("rollout.");

const text = (v: unknown) => (typeof v === "string" && v ? v : null);

function target(host: unknown, inputs: Record<string, unknown>): WhyTarget | null {
  const h = text(host), service = text(inputs.service);
  return h && service ? { host: h, service, instance: text(inputs.instance) } : null;
}

/** Where the node deployed: each succeeded instance of the run's node (a fan-out: one per host),
 * else the literal host and service of its params (not a wire or graph input: unknown here). */
export function whyTargets(params: Record<string, unknown>, ran?: RunNode): WhyTarget[] {
  const done = ran ? (ran.items?.length ? ran.items : [ran]).filter((n) => n.status === "succeeded") : [];
  const found = ran ? done.map((n) => target(n.host ?? n.inputs.host, n.inputs))
    : [target(params.host, params)];
  const seen = new Map<string, WhyTarget>();
  for (const t of found) if (t) seen.set(`${t.host}/${t.service}/${t.instance ?? ""}`, t);
  return [...seen.values()];
}

export function NodeWhy({ brick, params, ran }: { brick: string; params: Record<string, unknown>; ran?: RunNode }) {
  const targets = useMemo(() => (deploys(brick) ? whyTargets(params, ran) : []), [brick, params, ran]);
  const [open, setOpen] = useState<string | null>(null);
  if (!targets.length) return null;
  return (
    <div className="mt-2 small" data-testid="node-why">
      {targets.map((t) => {
        const key = `${t.host}/${t.service}/${t.instance ?? ""}`;
        return (
          <div key={key}>
            <Button size="sm" variant="link" className="p-0" onClick={() => setOpen(open === key ? null : key)}
              data-testid={`node-why-${t.host}`}>{open === key ? "Hide why" : "Why does this run?"}</Button>
            <span className="text-body-secondary"> {t.service}{t.instance ? ` / ${t.instance}` : ""} on {t.host}</span>
            {open === key && <div className="border rounded p-1 mt-1"><WhyView host={t.host} service={t.service} instance={t.instance} /></div>}
          </div>
        );
      })}
    </div>
  );
}
