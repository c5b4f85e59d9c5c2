import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { AuthContext } from "../hooks/useAuth";
import { SnapshotsPanel, formatBytes, type VolumeRow } from "./SnapshotsPanel";

const rows: VolumeRow[] = [{
  host: "h1", host_state: "up", seen_at: null, name: "bank", driver: "overlay", url: "overlay://h1/srv/bank",
  used: 3 * 1024 * 1024, capacity: null, retention: { keep_last: 5, keep_days: null }, error: null,
  snapshots: [
    { id: "before-2.0", created_at: 1767225600, kind: "pre-rollout", size: 2048, release: "1.0.0" },
    { id: "after-2.0", created_at: 1767229200, kind: "manual", size: null, release: null },
  ],
}];

const api = vi.hoisted(() => ({
  volumes: vi.fn(async () => rows),
  deleteSnapshot: vi.fn(async () => ({ id: "run-delete-1" })),
  pruneSnapshots: vi.fn(async () => ({ id: "run-prune-1" })),
}));
vi.mock("../api/client", () => ({ Api: api }));

describe("SnapshotsPanel", () => {
  it("lists each volume's snapshots with size and release, and deletes or prunes through a run", async () => {
    render(<SnapshotsPanel show onHide={() => {}} />);
    const row = await screen.findByTestId("snapshot-before-2.0");
    expect(row.textContent).toContain("pre-rollout");
    expect(row.textContent).toContain("2.0 KB");
    expect(row.textContent).toContain("1.0.0");
    expect(screen.getByTestId("volume-h1-bank").textContent).toContain("retention: last 5");
    fireEvent.click(row.querySelector("button")!);
    await waitFor(() => expect(api.deleteSnapshot).toHaveBeenCalledWith(
      { host: "h1", volume_url: "overlay://h1/srv/bank", snapshot: "before-2.0" }));
    expect((await screen.findByTestId("snapshots-note")).textContent).toContain("run run-dele started");
    fireEvent.change(screen.getByLabelText("keep last of bank"), { target: { value: "1" } });
    fireEvent.click(screen.getByText("Prune"));
    await waitFor(() => expect(api.pruneSnapshots).toHaveBeenCalledWith(
      { host: "h1", volume_url: "overlay://h1/srv/bank", keep_last: 1 }));
  });

  it("a viewer sees the snapshots but cannot delete or prune", async () => {
    const me = { user: "vera", role: "viewer" as const, auth: "required" as const, csrf: null };
    render(<AuthContext.Provider value={{ me, signOut: () => {}, signIns: 1 }}>
      <SnapshotsPanel show onHide={() => {}} />
    </AuthContext.Provider>);
    const row = await screen.findByTestId("snapshot-after-2.0");
    const del = row.querySelector("button")!;
    expect(del.disabled).toBe(true);
    expect(del.title).toBe("needs the operator role");
    expect((screen.getByText("Prune") as HTMLButtonElement).disabled).toBe(true);
  });

  it("formats sizes", () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3), formatBytes(null)])
      .toEqual(["512 B", "1.5 KB", "5.0 GB", "–"]);
  });
});
