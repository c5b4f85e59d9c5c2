// The client's types are generated from openapi.json (`npm run openapi`); the Python suite checks
// openapi.json against the server, this one checks schema.d.ts against openapi.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const FRONTEND = resolve(__dirname, "../..");

describe("src/api/schema.d.ts", () => {
  it("is what openapi-typescript makes of openapi.json (else run `npm run openapi`)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nebhx-schema-"));
    try {
      const out = join(dir, "schema.d.ts");
      const bin = join(FRONTEND, "node_modules", ".bin", "openapi-typescript");
      // The flags of package.json's openapi:types, with another output file.
      const script = JSON.parse(readFileSync(join(FRONTEND, "package.json"), "utf8")).scripts["openapi:types"] as string;
      const flags = script.split(" ").slice(1).filter((_, i, all) => all[i - 1] !== "-o" && all[i] !== "-o");
      execFileSync(bin, [...flags, "-o", out], { cwd: FRONTEND, stdio: "pipe" });
      const fresh = readFileSync(out, "utf8");
      const saved = readFileSync(join(FRONTEND, "src", "api", "schema.d.ts"), "utf8");
      expect(saved === fresh, "src/api/schema.d.ts is stale: run `npm run openapi` in frontend/").toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
