// The editor never loses work: what replaces unsaved work asks first, a reload offers it back,
// saving a new graph under a stored name asks which, and looking at a node is not an edit.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { session } from "../api/session";
import { fakeServer, json, me } from "../test/fakeServer";
import { DRAFT_KEY } from "../hooks/useDraft";
import { App } from "../App";

const doc = {
  format: "nebhx/graph@1", name: "shop", description: "", inputs: [], outputs: [], meta: {},
  nodes: [
    // Stored with a default (max_restarts) and an unset optional (port: null): showing them is not an edit.
    { id: "web", brick: "service.run", position: { x: 0, y: 0 },
      params: { host: "h1", service: "shop", command: "run", max_restarts: 3, port: null } },
    { id: "hi", brick: "test.echo", position: { x: 400, y: 0 }, params: { text: "hi" } },
  ],
  edges: [],
};
const stored = { id: "g1", name: "shop", latest_revision: 3, updated_at: "2026-01-02T03:04:05Z" };

beforeEach(() => localStorage.clear());
afterEach(() => {
  vi.unstubAllGlobals();
  session.setCsrf(null);
});

const title = () => screen.getByTestId("graph-title").textContent ?? "";
const undo = () => screen.getByTestId("tb-undo") as HTMLButtonElement;

function server(graphs: unknown[] = []) {
  return fakeServer({
    "GET /api/auth/me": me("local", "admin", null, "open"),
    "GET /api/graphs": () => json(graphs),
    "POST /api/graphs": () => json({ id: "g2", name: "shop", revision: 1 }),
    "PUT /api/graphs/g1": () => json({ id: "g1", name: "shop", revision: 4 }),
  });
}

async function importDoc(text = JSON.stringify(doc)) {
  fireEvent.click(await screen.findByTestId("tb-import"));
  fireEvent.change(await screen.findByTestId("import-text"), { target: { value: text } });
  fireEvent.click(screen.getByTestId("import-replace"));
  await screen.findByTestId("node-web");
}

// The dialog that says ``text``: the import dialog, fading out, is a dialog too for a while on a
// loaded machine, so the first dialog found is not always the one the action opened.
async function dialogWith(text: string) {
  return waitFor(() => {
    const found = screen.getAllByRole("dialog").find((d) => d.textContent?.includes(text));
    expect(found, `a dialog saying ${text}`).toBeTruthy();
    return found!;
  }, { timeout: 20_000 });
}

async function startEditor() {
  render(<App />);
  // The first render loads the palette and lazy chunks: on a loaded machine (CI runs the backend
  // lanes alongside) that took over 5 s; a palette that never comes still fails, only later.
  await screen.findByTestId("brick-test.echo", undefined, { timeout: 20_000 });
}

describe("unsaved work", { timeout: 60_000 }, () => {
  it("selecting and looking at a node is not an edit", async () => {
    const api = server();
    await startEditor();
    await importDoc();
    fireEvent.click(screen.getByTestId("tb-save"));
    await waitFor(() => expect(api.sent("POST /api/graphs")).toHaveLength(1));
    await waitFor(() => expect(title()).not.toContain("•"));
    fireEvent.click(screen.getByTestId("node-web"));
    await screen.findByTestId("node-panel");
    await waitFor(() => expect(document.querySelector("#root_max_restarts")).not.toBeNull(), { timeout: 20_000 });
    fireEvent.click(screen.getByTestId("tb-fit")); // moving the view is not an edit either
    fireEvent.click(screen.getByTestId("node-hi"));
    await new Promise((r) => setTimeout(r, 400)); // past the history's idle time
    expect(title()).not.toContain("•");
    expect(undo().disabled).toBe(true);
  });

  it("asks before New replaces it: Cancel keeps it, Discard replaces it", async () => {
    server();
    await startEditor();
    await importDoc();
    await waitFor(() => expect(title()).toContain("•"));
    fireEvent.click(screen.getByTestId("tb-new"));
    const dialog = await dialogWith("has changes that are not saved");
    expect(dialog.textContent).toContain("has changes that are not saved");
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.getByTestId("node-web")).toBeTruthy();
    fireEvent.click(screen.getByTestId("tb-new"));
    fireEvent.click(within(await dialogWith("has changes that are not saved")).getByRole("button", { name: "Discard changes" }));
    await waitFor(() => expect(screen.queryByTestId("node-web")).toBeNull());
    expect(title()).toBe("untitled");
  });

  it("saves first when asked to, then replaces it", async () => {
    const api = server();
    await startEditor();
    await importDoc();
    fireEvent.click(screen.getByTestId("tb-new"));
    fireEvent.click(within(await dialogWith("has changes that are not saved")).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByTestId("node-web")).toBeNull());
    expect(await api.sent("POST /api/graphs")[0].json()).toMatchObject({ name: "shop" });
  });

  it("keeps the unsaved graph in the browser and offers it back after a reload", async () => {
    server();
    const first = render(<App />);
    await screen.findByTestId("brick-test.echo");
    await importDoc();
    await waitFor(() => expect(localStorage.getItem(DRAFT_KEY)).toContain('"shop"'));
    const leaving = new Event("beforeunload", { cancelable: true });
    window.dispatchEvent(leaving);
    expect(leaving.defaultPrevented).toBe(true);
    first.unmount();
    await startEditor();
    const dialog = await dialogWith("Restore unsaved graph 'shop'?");
    expect(within(dialog).getByText("Restore unsaved graph 'shop'?")).toBeTruthy();
    fireEvent.click(within(dialog).getByRole("button", { name: "Restore" }));
    await screen.findByTestId("node-web");
    expect(title()).toContain("shop •");
  });

  it("import then save: a graph of that name exists, saved as its new revision", async () => {
    const api = server([stored, { ...stored, id: "g0", updated_at: "2025-01-01T00:00:00Z" }]);
    await startEditor();
    await importDoc();
    fireEvent.click(screen.getByTestId("tb-save"));
    const dialog = await dialogWith("A graph named shop exists");
    expect(dialog.textContent).toContain("A graph named shop exists");
    expect(dialog.textContent).toContain("g1"); // the newest of that name
    fireEvent.click(within(dialog).getByRole("button", { name: "Save as its new revision" }));
    await waitFor(() => expect(api.sent("PUT /api/graphs/g1")).toHaveLength(1));
    expect(api.sent("POST /api/graphs")).toHaveLength(0);
    expect((await screen.findByTestId("revision")).textContent).toBe("rev 4");
  });

  it("a new graph under the placeholder name 'untitled' is saved as a new graph without asking", async () => {
    const api = server([{ ...stored, name: "untitled" }]);
    await startEditor();
    await importDoc(JSON.stringify({ ...doc, name: "untitled" }));
    fireEvent.click(screen.getByTestId("tb-save"));
    await waitFor(() => expect(api.sent("POST /api/graphs")).toHaveLength(1));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("the Open dialog tells two graphs of one name apart: id, latest revision, updated time", async () => {
    server([stored, { ...stored, id: "g0", latest_revision: 1, updated_at: "2025-01-01T00:00:00Z" }]);
    await startEditor();
    fireEvent.click(screen.getByTestId("tb-open"));
    const list = await screen.findByTestId("graph-list");
    await waitFor(() => expect(within(list).getAllByText("shop")).toHaveLength(2));
    expect(within(list).getByTestId("graph-g1").textContent).toMatch(/^id g1 · revision 3 · updated \S/);
    expect(within(list).getByTestId("graph-g0").textContent).toMatch(/^id g0 · revision 1 · updated \S/);
  });
});
