// What each role may do; the server enforces it, the editor disables what would be refused.
import type { Role } from "../types";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** viewer: read only; operator: also runs (start, cancel, retry, approve, reject); admin: everything. */
export function allowed(role: Role | null, need: Role): boolean {
  return role !== null && RANK[role] >= RANK[need];
}

/** The title of a control the role may not use. */
export const needsRole = (need: Role) => `needs the ${need} role`;
