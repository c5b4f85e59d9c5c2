// A YAML field whose text does not parse makes the graph invalid: counted, listed, and Save and
// Run refuse, where the node silently kept its last valid value and the toolbar said "valid".
import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { session } from "../api/session";
import { fakeServer, json, me } from "../test/fakeServer";
import { typeCode } from "../test/codemirror";
import { App } from "../App";

afterEach(() => {
  vi.unstubAllGlobals();
  session.setCsrf(null);
  localStorage.clear();
});

const doc = {
  format: "nebhx/graph@1", name: "cfg", description: "", inputs: [], outputs: [], meta: {}, edges: [],
  nodes: [
    { id: "r", brick: "config.render", position: { x: 0, y: 0 },
      params: { host: "h1", service: "s", profile: "a", profiles: { a: { values: { x: 1 } } } } },
    { id: "hi", brick: "test.echo", position: { x: 500, y: 0 }, params: { text: "hi" } },
  ],
};

describe("a code field that does not parse", { timeout: 60_000 }, () => {
  it("is a problem until fixed: Save and Run refuse, closing the form keeps it", async () => {
    const api = fakeServer({ "GET /api/auth/me": me("local", "admin", null, "open"),
                             "GET /api/graphs": () => json([]), "GET /api/runs": () => json([]),
                             "POST /api/graphs": () => json({ id: "g1", name: "cfg", revision: 1 }) });
    render(<App />);
    // The palette (first render, lazy chunks) took over 5 s on a loaded machine.
    await screen.findByTestId("brick-test.echo", undefined, { timeout: 20_000 });
    fireEvent.click(screen.getByTestId("tb-import"));
    fireEvent.change(await screen.findByTestId("import-text"), { target: { value: JSON.stringify(doc) } });
    fireEvent.click(screen.getByTestId("import-replace"));
    fireEvent.click(await screen.findByTestId("node-r"));
    // The code editor is a lazy chunk: on a busy machine it can take longer than the 5 s default.
    const lazy = { timeout: 20_000 };
    const code = await within(screen.getByTestId("node-panel")).findByRole("textbox", { name: "Profiles" }, lazy);
    typeCode(code, "a: [");
    const count = screen.getByTestId("problem-count");
    await waitFor(() => expect(count.textContent).toBe("1 problem"));
    fireEvent.click(screen.getByTestId("tb-save"));
    expect((await screen.findByTestId("toast")).textContent).toContain("Fix r.profiles before saving");
    fireEvent.click(screen.getByTestId("tb-run"));
    await waitFor(() => expect(screen.getAllByTestId("toast").at(-1)!.textContent).toContain("before running"));
    expect(api.sent("POST /api/graphs")).toHaveLength(0);
    expect(api.sent("POST /api/runs")).toHaveLength(0);
    // Another node's form: the problem stays, and the text comes back with the form.
    fireEvent.click(screen.getByTestId("node-hi"));
    await waitFor(() => expect(within(screen.getByTestId("node-panel")).queryByRole("textbox", { name: "Profiles" })).toBeNull());
    expect(screen.getByTestId("problem-count").textContent).toBe("1 problem");
    expect(screen.getByTestId("problem").textContent).toContain("profiles is not valid as typed");
    fireEvent.click(screen.getByTestId("node-r"));
    const again = await within(screen.getByTestId("node-panel")).findByRole("textbox", { name: "Profiles" }, lazy);
    expect(again.textContent).toBe("a: [");
    typeCode(again, "a: {values: {x: 2}}");
    await waitFor(() => expect(screen.getByTestId("problem-count").textContent).toBe("valid"));
    fireEvent.click(screen.getByTestId("tb-save"));
    await waitFor(() => expect(api.sent("POST /api/graphs")).toHaveLength(1));
    const saved = await api.sent("POST /api/graphs")[0].json();
    expect(saved.nodes[0].params.profiles).toEqual({ a: { values: { x: 2 } } });
  });
});
