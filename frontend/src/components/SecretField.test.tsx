import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import { AuthContext } from "../hooks/useAuth";
import type { Me } from "../types";
import { SecretField } from "./SecretField";

const port = { name: "password", direction: "in" as const, type: "Secret", required: true };

function renderAs(role: Me["role"]) {
  const me: Me = { user: "u", role, auth: "required", csrf: "t" };
  render(
    <AuthContext.Provider value={{ me, signOut: vi.fn(), signIns: 1 }}>
      <SecretField port={port} value={{ $secret: "demo.db.password" }} secretName="demo.db.password"
                   readOnly={false} onChange={vi.fn()} />
    </AuthContext.Provider>);
}

describe("SecretField", () => {
  it("lets only an admin type a secret value", () => {
    renderAs("operator");
    const input = screen.getByLabelText("password") as HTMLInputElement;
    expect(input.disabled).toBe(true);
    expect(input.title).toBe("needs the admin role");
    expect((screen.getByText("Store") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/uses stored secret/).textContent).toContain("demo.db.password");
  });

  it("an admin can type one", () => {
    renderAs("admin");
    expect((screen.getByLabelText("password") as HTMLInputElement).disabled).toBe(false);
  });
});
