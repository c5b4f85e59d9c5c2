// The "Canary of my service" form: what a newcomer types, as the body of POST /api/templates/canary.
import type { components } from "../api/schema";

export type CanaryRequest = components["schemas"]["CanaryRequest"];

export interface CanaryForm {
  service: string;
  source: string;
  release_id: string;
  selector: string;
  command: string;
  port: string;
  ready_http: string;
  /** One http check per row: a path on the instance and the text its answer must contain. */
  checks: { path: string; contains: string }[];
  admin_email: string;
}

export const emptyCanaryForm = (): CanaryForm => ({
  service: "", source: "", release_id: "", selector: "", command: "", port: "", ready_http: "",
  checks: [{ path: "/", contains: "" }], admin_email: "",
});

/** The field of the form a server problem's path (`/body/<field>/...`) names. */
export function fieldOf(path: string): keyof CanaryForm | null {
  const field = path.split("/")[2] ?? "";
  return field in emptyCanaryForm() ? (field as keyof CanaryForm) : null;
}

const pathOf = (p: string) => (p.trim().startsWith("/") ? p.trim() : `/${p.trim()}`);

/** The request, or the first thing missing or wrong, named as the form names it. */
export function canaryRequest(f: CanaryForm): { body?: CanaryRequest; error?: [keyof CanaryForm, string] } {
  for (const k of ["service", "source", "release_id", "command"] as const) {
    if (!f[k].trim()) return { error: [k, "is required"] };
  }
  const port = f.port.trim() ? Number(f.port) : null;
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) return { error: ["port", "must be 1..65535"] };
  if (f.command.includes("{port}") && port === null) return { error: ["port", "is required: the command uses {port}"] };
  const checks = f.checks.filter((c) => c.path.trim() || c.contains.trim()).map((c) => ({
    kind: "http" as const, name: `GET ${pathOf(c.path || "/")}`,
    url: `http://127.0.0.1:{port}${pathOf(c.path || "/")}`, ...(c.contains.trim() ? { contains: c.contains.trim() } : {}),
  }));
  if (checks.length && port === null) return { error: ["port", "is required by the checks"] };
  const emails = f.admin_email.split(/[,\s]+/).filter(Boolean);
  return { body: {
    service: f.service.trim(), source: f.source.trim(), release_id: f.release_id.trim(), selector: f.selector.trim(),
    command: f.command.trim(), port, ready_http: f.ready_http.trim() ? pathOf(f.ready_http) : null, checks,
    ...(emails.length ? { admin_email: emails } : {}),
  } };
}
