import { describe, expect, it } from "vitest";
import { compositePin, indexPalette, newerRevision } from "./palette";
import type { BrickSpec } from "../types";

const brick = (id: string, extra: Partial<BrickSpec> = {}): BrickSpec => ({
  id, title: id, category: "composite", inputs: [], outputs: [], inputs_schema: {}, outputs_schema: {}, ...extra });

describe("composite bricks in the palette", () => {
  const { byId } = indexPalette({ bricks: [brick("composite:web-1a", { revision: 3, ref: "composite:web-1a@3" }),
                                           brick("core.split")], errors: [], type_parents: {} });
  it("finds a pinned composite node's brick (composite:<id>@<rev>) by the palette's composite:<id>", () => {
    expect(byId.get("composite:web-1a@1")?.id).toBe("composite:web-1a");
    expect(byId.get("composite:web-1a")?.revision).toBe(3);
    expect(byId.get("core.split@1")).toBeUndefined();
  });
  it("tells the pin and a newer revision", () => {
    expect(compositePin("composite:web-1a@2")).toEqual({ base: "composite:web-1a", graph: "web-1a", revision: 2 });
    expect(compositePin("core.split")).toBeNull();
    expect(newerRevision(byId, "composite:web-1a@2")).toBe(3);
    expect(newerRevision(byId, "composite:web-1a@3")).toBeNull();
    expect(newerRevision(byId, "composite:web-1a")).toBeNull();
  });
});
