import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import { ReleasesPanel } from "./ReleasesPanel";
import type { ReleaseRow } from "../lib/releases";

const base = {
  host_state: "up", seen_at: null, program: "web", active: "r2", previous: "r1", prepared: null,
  config_version: null, state: "RUNNING", pid: 42, runtime: null, image: null, phase: null, error: null,
  releases: [],
};
const rows = [
  { ...base, host: "h1", service: "web", instance: null, health: { ok: false, error: "timed out", at: null },
    liveness: { status: "unhealthy", since: "2026-12-07T14:00:00+00:00", restarts: 3, restarts_in_row: 3,
                last_probe: { ok: false, error: "ReadTimeout: timed out", at: null }, notified: null } },
  { ...base, host: "h2", service: "web", instance: null, health: { ok: true, error: null, at: null }, liveness: null },
] as unknown as ReleaseRow[];

const api = vi.hoisted(() => ({ releases: vi.fn(async () => rows) }));
vi.mock("../api/client", () => ({ Api: api }));

describe("ReleasesPanel", () => {
  it("shows a service's liveness: unhealthy since when, its restarts; none without a probe", async () => {
    render(<ReleasesPanel show onHide={() => {}} />);
    const live = await screen.findByTestId("release-liveness");
    expect(live.textContent).toContain("unhealthy");
    expect(live.textContent).toContain("3 restarts");
    expect(live.getAttribute("title")).toContain("last probe ReadTimeout: timed out");
    expect(screen.getByTestId("release-h2-web").querySelector("[data-testid=release-liveness]")).toBeNull();
  });
});
