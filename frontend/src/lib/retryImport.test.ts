import { describe, expect, it } from "vitest";
import { retryImport } from "./retryImport";

describe("retryImport", () => {
  it("asks again after a failed load and gives what the next try loads", async () => {
    let calls = 0;
    const load = retryImport(async () => {
      calls += 1;
      if (calls === 1) throw new TypeError("Failed to fetch dynamically imported module");
      return { default: "ParamsForm" };
    }, 3, 1);
    await expect(load()).resolves.toEqual({ default: "ParamsForm" });
    expect(calls).toBe(2);
  });

  it("fails with the last error once every try failed", async () => {
    let calls = 0;
    const load = retryImport(async () => {
      calls += 1;
      throw new Error(`try ${calls}`);
    }, 3, 1);
    await expect(load()).rejects.toThrow("try 3");
    expect(calls).toBe(3);
  });
});
