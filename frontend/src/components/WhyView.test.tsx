import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import { WhyView } from "./WhyView";

const link = (id: string, revision: number) => ({ id, node: "switch", brick: "rollout.switch", graph: "web-1a", graph_name: "web",
  revision, started_by: "olga", finished_at: null, trigger: null });

vi.mock("../api/client", () => ({
  Api: { why: vi.fn(async (host: string, service: string) => {
    if (service === "nope") throw new Error(`host '${host}' reports no service 'nope'`);
    return {
      host, service, instance: null, seen_at: null, missing: null,
      process: { pid: 4242, state: "RUNNING", since: "2026-12-07T10:00:00Z" },
      release: { id: "2.0.0", source: "/srv/app", sha256: "ab".repeat(32) },
      config: { version: "c0ffee", files: { "app.json": "cd".repeat(32) },
                explain: { greeting: { value: "bonjour", layer: "web" } } },
      data: { volume: "web-data", snapshot_at_switch: "snap-1" },
      switched_by: link("run22222222", 2),
      approvals: [{ node: "gate", status: "succeeded", approved: true, by: ["ann", "bob"], comments: ["ok", ""], at: null }],
      before: { release: "1.0.0", pid: 4100, switched_by: link("run11111111", 1) },
    };
  }) },
}));

describe("WhyView", () => {
  it("shows each link of the chain, from the process to its approvers and what ran before", async () => {
    render(<WhyView host="h1" service="web" />);
    const why = await screen.findByTestId("why");
    expect(why.textContent).toContain("pid 4242 (RUNNING) since 2026-12-07T10:00:00Z");
    expect(why.textContent).toContain("2.0.0 from /srv/app sha256 abababababababab");
    expect(why.textContent).toContain("app.json: sha256 cdcdcdcdcdcdcdcd");
    expect(why.textContent).toContain('greeting = "bonjour" from web');
    expect(why.textContent).toContain("web-data, snapshot snap-1");
    expect(screen.getByTestId("why-run").textContent).toBe("run run22222 (switch) of web revision 2, started by olga");
    expect(screen.getByTestId("why-approvals").textContent).toBe("gate: approved by ann, bob (ok)");
    expect(why.textContent).toContain("1.0.0 (pid 4100), run run11111 (switch) of web revision 1");
  });

  it("says what the server answered when the service is unknown", async () => {
    render(<WhyView host="h1" service="nope" />);
    expect(await screen.findByText("host 'h1' reports no service 'nope'")).toBeTruthy();
  });
});
