import { describe, expect, it } from "vitest";
import openapi from "../../openapi.json";
import { NODE_STATUSES, RUN_STATUSES, TRIGGER_RULES } from "./statuses";

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
});
