// Opening a run: an ended one is shown as loaded, a run still going is followed by its stream.
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderHook, waitFor } from "@testing-library/react";

const api = vi.hoisted(() => ({ run: vi.fn() }));
vi.mock("../api/client", () => ({ Api: api, eventsUrl: (id: string) => `/api/runs/${id}/events` }));
import { useRunWatch } from "./useRunWatch";

class FakeSource {
  static CLOSED = 2;
  static opened: string[] = [];
  readyState = 1;
  onerror: (() => void) | null = null;
  constructor(url: string) { FakeSource.opened.push(url); }
  addEventListener() {}
  close() {}
}

describe("useRunWatch", () => {
  afterEach(() => { FakeSource.opened = []; vi.unstubAllGlobals(); });

  it("shows an ended run without replaying its event stream", async () => {
    vi.stubGlobal("EventSource", FakeSource);
    api.run.mockResolvedValue({ id: "r1", status: "succeeded", nodes: {} });
    const { result } = renderHook(() => useRunWatch("r1", () => {}));
    await waitFor(() => expect(result.current.run?.status).toBe("succeeded"));
    await new Promise((r) => setTimeout(r, 50));
    expect(FakeSource.opened).toEqual([]);
  });

  it("follows a run that is still going", async () => {
    vi.stubGlobal("EventSource", FakeSource);
    api.run.mockResolvedValue({ id: "r2", status: "running", nodes: {} });
    const { result } = renderHook(() => useRunWatch("r2", () => {}));
    await waitFor(() => expect(FakeSource.opened).toEqual(["/api/runs/r2/events"]));
    expect(result.current.run?.status).toBe("running");
  });
});
