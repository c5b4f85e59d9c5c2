// "Canary update of my service": the form becomes POST /api/templates/canary, and the draft opens
// unsaved on the canvas; a field the server refuses is marked with its reason.
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { session } from "../api/session";
import { fakeServer, json, me } from "../test/fakeServer";
import { canaryRequest, emptyCanaryForm } from "../lib/canary";
import { App } from "../App";

afterEach(() => {
  vi.unstubAllGlobals();
  session.setCsrf(null);
  localStorage.clear();
});

const draft = {
  example: "examples/canary-update.json", filled: ["canary.command"],
  graph: {
    format: "nebhx/graph@1", name: "shop-canary", description: "", outputs: [], meta: {},
    inputs: [{ name: "selector", type: "string", required: false, default: "role=shop", description: "" }],
    nodes: [
      { id: "select", brick: "hosts.select", params: { selector: { $input: "selector" } }, position: { x: 0, y: 0 } },
      { id: "approve", brick: "gate.approval", params: {}, position: { x: 300, y: 0 } },
    ],
    edges: [{ from: { node: "select" }, to: { node: "approve" } }],
  },
};

async function openDialog() {
  render(<App />);
  await screen.findByTestId("brick-test.echo", undefined, { timeout: 5000 });
  fireEvent.click(screen.getByTestId("tb-new-more"));
  fireEvent.click(await screen.findByTestId("tb-canary"));
  return screen.findByTestId("canary-dialog");
}

const type = (id: string, value: string) => fireEvent.change(screen.getByTestId(id), { target: { value } });

function fill() {
  type("canary-service", "shop");
  type("canary-source", "/srv/shop-2");
  type("canary-release_id", "2.1");
  type("canary-selector", "role=shop");
  type("canary-command", "python3 {release}/shop.py --port {port}");
  type("canary-port", "9123");
  type("canary-ready_http", "ping");
  type("canary-check-path-0", "/items");
  type("canary-check-contains-0", "apple");
}

describe("canary of my service", { timeout: 20_000 }, () => {
  it("sends what was typed and opens the draft unsaved", async () => {
    const api = fakeServer({ "GET /api/auth/me": me("local", "admin", null, "open"),
                             "POST /api/templates/canary": () => json(draft) });
    await openDialog();
    fill();
    fireEvent.click(screen.getByTestId("canary-make"));
    await screen.findByTestId("node-approve");
    const body = await api.sent("POST /api/templates/canary")[0].json();
    expect(body).toEqual({
      service: "shop", source: "/srv/shop-2", release_id: "2.1", selector: "role=shop",
      command: "python3 {release}/shop.py --port {port}", port: 9123, ready_http: "/ping",
      checks: [{ kind: "http", name: "GET /items", url: "http://127.0.0.1:{port}/items", contains: "apple" }],
    });
    await waitFor(() => expect(screen.getByTestId("graph-title").textContent).toContain("shop-canary •"));
    expect(screen.queryByTestId("revision")).toBeNull();
    expect(screen.getByTestId("node-select")).toBeTruthy();
  });

  it("marks a field the server refuses, and keeps what was typed", async () => {
    fakeServer({ "GET /api/auth/me": me("local", "admin", null, "open"),
                 "POST /api/templates/canary": () => json({ detail: [{ code: "request", node: null, port: null,
                   path: "/body/service", message: "body/service: String should match pattern" }] }, 422) });
    const dialog = await openDialog();
    fill();
    fireEvent.click(screen.getByTestId("canary-make"));
    await within(dialog).findByText("String should match pattern");
    expect(screen.getByTestId("canary-service").className).toContain("is-invalid");
    expect((screen.getByTestId("canary-command") as HTMLInputElement).value).toContain("shop.py");
    expect(screen.queryByTestId("node-approve")).toBeNull();
  });
});

describe("canaryRequest", () => {
  const base = { ...emptyCanaryForm(), service: "s", source: "/x", release_id: "1", command: "app --port {port}" };
  it("names what is missing before asking the server", () => {
    expect(canaryRequest({ ...base, service: " " }).error).toEqual(["service", "is required"]);
    expect(canaryRequest(base).error).toEqual(["port", "is required: the command uses {port}"]);
    expect(canaryRequest({ ...base, port: "99999" }).error?.[0]).toBe("port");
  });
  it("leaves out empty checks and splits e-mail addresses", () => {
    const { body } = canaryRequest({ ...base, port: "80", checks: [{ path: "", contains: "" }], admin_email: "a@x, b@y" });
    expect(body?.checks).toEqual([]);
    expect(body?.admin_email).toEqual(["a@x", "b@y"]);
  });
});
