// Plan, releases and composites as a user sees them in the editor.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { session } from "../api/session";
import { fakeServer, json, me } from "../test/fakeServer";
import palette from "../test/palette.json";
import { App } from "../App";

const node = (id: string, brick: string, params: Record<string, unknown> = {}, x = 0) =>
  ({ id, brick, params, position: { x, y: 0 } });
const outer = {
  format: "nebhx/graph@1", name: "outer", description: "", outputs: [], meta: {}, edges: [],
  inputs: [{ name: "selector", type: "string", required: false, default: "", description: "" }],
  nodes: [node("sel", "hosts.select", { selector: { $input: "selector" } }), node("up", "composite:inner-1@1", {}, 400)],
};
const inner = { ...outer, name: "inner", inputs: [], nodes: [node("hi", "test.echo", { text: "hi" })] };
const withComposite = { ...palette, bricks: [...palette.bricks, {
  id: "composite:inner-1", ref: "composite:inner-1@2", revision: 2, title: "Inner", category: "composite",
  inputs: [], outputs: [], inputs_schema: { type: "object", properties: {} }, outputs_schema: {} }] };
const planAnswer = { graph: "outer", elapsed_s: 0.002, nodes: {
  sel: { brick: "hosts.select", effect: "would pick 1 host now: local", inputs: { selector: "role=web" }, changes: false },
  up: { brick: "composite:inner-1@1", effect: "runs graph 'inner' revision 1: 1 inner nodes", children: {
    "up:hi": { brick: "test.echo", effect: "unknown effect", inputs: { text: "(from sel.hosts)" }, changes: null } } },
} };

beforeEach(() => localStorage.clear());
afterEach(() => { vi.unstubAllGlobals(); session.setCsrf(null); });

function server() {
  return fakeServer({
    "GET /api/auth/me": me("ann", "viewer"),
    "GET /api/bricks": () => json(withComposite),
    "GET /api/graphs": () => json([{ id: "outer-1", name: "outer", latest_revision: 1, updated_at: "2026-01-01T00:00:00Z" }]),
    "GET /api/graphs/outer-1": () => json({ id: "outer-1", name: "outer", latest_revision: 1, revisions: [{ number: 1, created_at: "" }] }),
    "GET /api/graphs/outer-1/revisions/1": () => json(outer),
    "GET /api/graphs/inner-1": () => json({ id: "inner-1", name: "inner", latest_revision: 2, revisions: [] }),
    "GET /api/graphs/inner-1/revisions/1": () => json(inner),
    "GET /api/runs": () => json([]),
    "POST /api/graphs/plan": () => json(planAnswer),
    "GET /api/releases": () => json([{ host: "local", host_state: "up", seen_at: "2026-12-07T14:00:02.5+00:00",
      service: "web", instance: "", active: "2.0.0",
      previous: "1.0.0", prepared: null, config_version: "c0ffee", health: { ok: true }, phase: "committed",
      releases: [{ id: "1.0.0", pinned: true }, { id: "2.0.0", active: true, committed_at: 1 }] },
      { host: "local", host_state: "up", service: "api", instance: "", active: "v2", previous: null, prepared: null,
        config_version: null, health: { ok: true }, phase: null, runtime: "podman",
        image: "oci:api@sha256:" + "ab".repeat(32), releases: [{ id: "v2", active: true }] }]),
  });
}

async function openOuter() {
  render(<App />);
  // The first render loads the palette and lazy chunks: on a loaded machine (CI runs the backend
  // lanes alongside) that took over 5 s; a palette that never comes still fails, only later.
  await screen.findByTestId("brick-test.echo", undefined, { timeout: 20_000 });
  fireEvent.click(screen.getByTestId("tb-open"));
  fireEvent.click(await screen.findByText("outer"));
  fireEvent.click(await screen.findByText(/Open latest/));
  await screen.findByTestId("node-up");
}

describe("rollout editing", { timeout: 60_000 }, () => {
  it("plans with the run inputs (a viewer may) and badges the nodes", async () => {
    const { sent } = server();
    await openOuter();
    fireEvent.click(screen.getByTestId("tb-plan"));
    fireEvent.change(await screen.findByLabelText("selector"), { target: { value: "role=web" } });
    fireEvent.click(screen.getByTestId("start-plan"));
    const dialog = await screen.findByTestId("plan-table");
    const body = await sent("POST /api/graphs/plan")[0].json();
    expect(body.inputs).toEqual({ selector: "role=web" });
    expect(body.graph.nodes.map((n: { id: string }) => n.id)).toEqual(["sel", "up"]);
    expect(within(dialog).getByTestId("plan-node-up:hi").textContent).toMatch(/unknown effect/);
    expect(within(dialog).getByText("(from sel.hosts)").className).toContain("nbx-placeholder");
    expect((await screen.findByTestId("plan-sel")).textContent).toBe("no change");
    expect((await screen.findByTestId("plan-up")).textContent).toBe("unknown");
  });

  it("keeps the inputs typed to plan for the run, and forgets them for another graph", async () => {
    fakeServer({ "GET /api/auth/me": me("ann", "admin"), "GET /api/bricks": () => json(withComposite),
      "GET /api/graphs": () => json([{ id: "outer-1", name: "outer", latest_revision: 1, updated_at: "2026-01-01T00:00:00Z" }]),
      "GET /api/graphs/outer-1": () => json({ id: "outer-1", name: "outer", latest_revision: 1, revisions: [] }),
      "GET /api/graphs/outer-1/revisions/1": () => json(outer), "GET /api/runs": () => json([]),
      "POST /api/graphs/plan": () => json(planAnswer) });
    await openOuter();
    fireEvent.click(screen.getByTestId("tb-plan"));
    fireEvent.change(await screen.findByLabelText("selector"), { target: { value: "role=web" } });
    fireEvent.click(screen.getByTestId("start-plan"));
    await screen.findByTestId("plan-table");
    fireEvent.click(within(screen.getByTestId("plan-dialog")).getAllByRole("button", { name: "Close" }).at(-1)!);
    await waitFor(() => expect(screen.queryByTestId("plan-table")).toBeNull());
    fireEvent.click(screen.getByTestId("tb-run"));
    expect(((await screen.findByLabelText("selector")) as HTMLInputElement).value).toBe("role=web");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByLabelText("selector")).toBeNull());
    fireEvent.click(screen.getByTestId("tb-import")); // another graph (with an input of that name)
    fireEvent.change(await screen.findByTestId("import-text"), { target: { value: JSON.stringify({ ...outer, name: "other" }) } });
    fireEvent.click(screen.getByTestId("import-replace"));
    await waitFor(() => expect(screen.getByTestId("graph-title").textContent).toContain("other"));
    fireEvent.click(screen.getByTestId("tb-plan"));
    expect(((await screen.findByLabelText("selector")) as HTMLInputElement).value).toBe("");
  });

  it("finds a pinned composite's brick, offers its newer revision, opens it and comes back", async () => {
    server();
    await openOuter();
    expect(within(screen.getByTestId("node-up")).queryByText("unknown brick")).toBeNull();
    fireEvent.click(within(screen.getByTestId("node-up")).getByText("composite:inner-1@1"));
    expect((await screen.findByTestId("composite-newer")).textContent).toMatch(/Update to revision 2/);
    fireEvent.click(screen.getByTestId("open-composite"));
    await screen.findByTestId("node-hi");
    expect((await screen.findByTestId("breadcrumb")).textContent).toMatch(/outer›\s*inner rev 1 \(read-only\)/);
    fireEvent.click(screen.getByTestId("crumb-0"));
    await screen.findByTestId("node-up");
    await waitFor(() => expect(screen.queryByTestId("breadcrumb")).toBeNull());
  });

  it("lists releases per host and service", async () => {
    server();
    await openOuter();
    fireEvent.click(screen.getByTestId("tb-releases"));
    const row = await screen.findByTestId("release-local-web");
    expect(row.textContent).toMatch(/2\.0\.0.*1\.0\.0.*1\.0\.0.*2\.0\.0.*c0ffee.*healthy.*committed/);
    // When the host's agent looked at it: a stale row does not pass for a fresh one.
    expect(within(row).getByTestId("release-seen").textContent)
      .toBe(`seen ${new Date("2026-12-07T14:00:02.5+00:00").toLocaleString()}`);
    // A container instance shows the image it runs, digest shortened (the whole ref on hover).
    const image = within(screen.getByTestId("release-local-api")).getByTestId("release-image");
    expect(image.textContent).toBe("podman api@sha256:abababababab");
    expect(image.title).toBe("oci:api@sha256:" + "ab".repeat(32));
  });
});
