import { describe, expect, it } from "vitest";
import { parseRunLink } from "./useGateLink";

describe("parseRunLink", () => {
  it("reads the run and the gate of an approval's link", () => {
    expect(parseRunLink("#/runs/abc123/nodes/gate")).toEqual({ run: "abc123", node: "gate" });
    expect(parseRunLink("#/runs/abc123")).toEqual({ run: "abc123", node: null });
    expect(parseRunLink("#/runs/abc/nodes/web%5B0%5D")).toEqual({ run: "abc", node: "web[0]" });
  });
  it("ignores other hashes and broken escapes", () => {
    expect(parseRunLink("")).toBeNull();
    expect(parseRunLink("#/graphs/x")).toBeNull();
    expect(parseRunLink("#/runs/%E0%A4%A/nodes/x")).toBeNull();
  });
});
