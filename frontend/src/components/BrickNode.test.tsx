import { describe, expect, it } from "vitest";
import { act, render, screen } from "@testing-library/react";
import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import palette from "../test/palette.json";
import { indexPalette, PaletteContext } from "../lib/palette";
import { problemStore, runStore } from "../lib/overlay";
import type { Palette, RunNode } from "../types";
import { BrickNode } from "./BrickNode";
import type { BrickNode as BrickNodeType } from "../lib/graphDoc";

const nodeTypes = { brick: BrickNode };

function renderNode(node: BrickNodeType) {
  return render(
    <PaletteContext.Provider value={indexPalette(palette as Palette)}>
      <ReactFlowProvider>
        <div style={{ width: 800, height: 600 }}>
          <ReactFlow nodes={[node]} edges={[]} nodeTypes={nodeTypes} />
        </div>
      </ReactFlowProvider>
    </PaletteContext.Provider>,
  );
}

const share: BrickNodeType = { id: "share", type: "brick", position: { x: 0, y: 0 },
  data: { brick: "core.share_settings", params: {}, extra: {}, label: "Files" } };

describe("BrickNode", () => {
  it("shows one handle per port, named after the port, and marks required inputs", () => {
    const { container } = renderNode(share);
    const ids = [...container.querySelectorAll(".react-flow__handle")].map((h) => h.getAttribute("data-handleid"));
    expect(ids).toEqual(expect.arrayContaining(["address", "share", "login", "password", "unc", "settings", "mount_options",
                                                 "__order_in", "__order_out"]));
    expect(screen.getByText("Files")).toBeTruthy();
    expect(screen.getByText("core.share_settings")).toBeTruthy();
    expect(screen.getByTestId("port-in-address").querySelector(".nbx-required")).toBeTruthy();
    const pw = screen.getByTestId("port-in-password").querySelector(".react-flow__handle") as HTMLElement;
    expect(pw.style.background).toBe("rgb(220, 38, 38)");
  });

  it("draws problems on the port and run status with duration", () => {
    renderNode(share);
    act(() => {
      problemStore.set({ share: [{ node: "share", port: "address", code: "required", message: "address is required", path: "" }] });
      runStore.set({ share: { status: "succeeded", attempt: 1, inputs: {}, outputs: {}, error: null,
                              started_at: null, finished_at: null, duration_s: 1.25, host: null } });
    });
    expect(screen.getByTestId("port-in-address").className).toContain("nbx-port-bad");
    expect(screen.getByTestId("status-share").textContent).toBe("succeeded · 1.3 s");
    act(() => {
      runStore.set({ share: { status: "waiting", attempt: 1, inputs: {}, outputs: {}, error: null, started_at: null,
                              finished_at: null, duration_s: null, host: null, wait: { reason: "Ship it?" } } });
    });
    expect(screen.getByTestId("wait-share").textContent).toBe("Ship it?");
    act(() => { problemStore.set({}); runStore.set({}); });
  });

  it("shows a fan-out node's list ports and its items' progress", () => {
    const item = (id: string, status: RunNode["status"]) => ({ id, item: id, status, attempt: 1, inputs: {},
      outputs: {}, error: null, started_at: null, finished_at: null, duration_s: null, host: null });
    renderNode({ ...share, data: { ...share.data, extra: { for_each: "address" } } });
    expect(screen.getByTestId("each-share").textContent).toBe(" · each address");
    expect(screen.getByTestId("port-in-address").textContent).toContain("Address[]");
    expect(screen.getByTestId("port-in-share").textContent).not.toContain("[]");
    act(() => {
      runStore.set({ share: { status: "running", attempt: 1, inputs: {}, outputs: {}, error: null,
                              started_at: null, finished_at: null, duration_s: null, host: null,
                              items: [item("share[0]", "succeeded"), item("share[1]", "succeeded"),
                                      item("share[2]", "running")] } });
    });
    const badge = screen.getByTestId("items-share");
    expect(badge.textContent).toBe("2/3");
    expect(badge.getAttribute("title")).toBe("2 of 3 items done");
    act(() => { runStore.set({}); });
    expect(screen.queryByTestId("items-share")).toBeNull();
  });

  it("says when the brick is unknown", () => {
    renderNode({ ...share, data: { ...share.data, brick: "nope.gone" } });
    expect(screen.getByText("unknown brick")).toBeTruthy();
  });
});

describe("zoomed far out", () => {
  const at = (zoom: number) => render(
    <PaletteContext.Provider value={indexPalette(palette as Palette)}>
      <ReactFlowProvider>
        <div style={{ width: 800, height: 600 }}>
          <ReactFlow nodes={[share]} edges={[]} nodeTypes={nodeTypes} defaultViewport={{ x: 0, y: 0, zoom }}
                     minZoom={0.05} />
        </div>
      </ReactFlowProvider>
    </PaletteContext.Provider>,
  );
  const failed = { share: { status: "failed" as const, attempt: 1, inputs: {}, outputs: {}, error: "boom",
                            started_at: null, finished_at: null, duration_s: null, host: null } };

  it("fills the whole node with its status colour and keeps its title readable", () => {
    at(0.3);
    act(() => runStore.set(failed));
    const far = screen.getByTestId("far-view");
    expect(far.className).toContain("nbx-far-failed");
    expect(far.textContent).toBe("Filesfailed");
    // No port rows, but a handle in place for each port, so wires still end there.
    const node = screen.getByTestId("node-share");
    expect(node.querySelector(".nbx-port")).toBeNull();
    const ids = [...node.querySelectorAll(".react-flow__handle")].map((h) => h.getAttribute("data-handleid"));
    const spec = (palette as Palette).bricks.find((b) => b.id === "core.share_settings")!;
    expect(ids).toEqual(["__order_in", ...spec.inputs.map((p) => p.name), ...spec.outputs.map((p) => p.name),
                         "__order_out"]);
    act(() => runStore.set({}));
    expect(screen.getByTestId("far-view").className).toContain("nbx-far-none");
  });

  it("keeps the size the full node was measured at, unless that is too short for its ports", () => {
    const far = (measured: { width: number; height: number }) => {
      const view = render(
        <PaletteContext.Provider value={indexPalette(palette as Palette)}>
          <ReactFlowProvider>
            <div style={{ width: 800, height: 600 }}>
              <ReactFlow nodes={[{ ...share, measured }]} edges={[]} nodeTypes={nodeTypes}
                         defaultViewport={{ x: 0, y: 0, zoom: 0.3 }} minZoom={0.05} />
            </div>
          </ReactFlowProvider>
        </PaletteContext.Provider>,
      );
      const style = (screen.getByTestId("node-share") as HTMLElement).style;
      const size = [style.width, style.height];
      view.unmount();
      return size;
    };
    // Taller up close (an error line, say): zooming out keeps it, so nothing is measured again.
    expect(far({ width: 260, height: 400 })).toEqual(["260px", "400px"]);
    // Measured before its brick's ports were known: the box for its ports, measured again.
    const [, height] = far({ width: 220, height: 60 });
    expect(parseFloat(height)).toBeGreaterThan(150);
  });

  it("is not drawn near", () => {
    at(1);
    expect(screen.queryByTestId("far-view")).toBeNull();
  });
});
