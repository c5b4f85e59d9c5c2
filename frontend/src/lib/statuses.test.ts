import { describe, expect, it } from "vitest";
import openapi from "../../openapi.json";
import { ENDED_NODE_STATUSES, ENDED_RUN_STATUSES, NODE_LEGEND, NODE_STATUSES, RUN_STATUSES, TRIGGER_RULES } from "./statuses";

// tsc holds the keys to the generated unions; this holds openapi.json's enums to the same lists.
const schemas = openapi.components.schemas as Record<string, { enum?: string[] }>;

describe("statuses and trigger rules", () => {
  it.each([
    ["NodeStatus", NODE_STATUSES],
    ["RunStatus", RUN_STATUSES],
    ["TriggerRule", Object.keys(TRIGGER_RULES)],
  ])("%s lists the server's enum", (name, list) => {
    expect([...list].sort()).toEqual([...(schemas[name].enum ?? [])].sort());
  });

  it("takes the ends and what may follow each status from the engine's table", () => {
    expect([...ENDED_NODE_STATUSES].sort()).toEqual(["cancelled", "failed", "skipped", "succeeded"]);
    expect([...ENDED_RUN_STATUSES].sort()).toEqual(["cancelled", "failed", "succeeded"]);
    expect(Object.keys(NODE_LEGEND.waiting.next).sort()).toEqual(["cancelled", "failed", "succeeded"]);
    for (const entry of Object.values(NODE_LEGEND)) {
      for (const next of Object.keys(entry.next)) expect(NODE_STATUSES).toContain(next);
    }
  });
});
