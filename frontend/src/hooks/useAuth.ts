// Who is signed in, for the components that show it or depend on the role.
import { createContext, useCallback, useContext } from "react";
import type { Me, Role } from "../types";
import { allowed, needsRole } from "../lib/roles";

export interface AuthState {
  me: Me;
  signOut: () => void;
  /** Counts sign-ins: what followed the server (a run's event stream) starts again on a change. */
  signIns: number;
}

/** Outside an AuthProvider (component tests) nothing is disabled; the server decides anyway. */
const OPEN: AuthState = { me: { user: "local", role: "admin", auth: "open", csrf: null }, signOut: () => {}, signIns: 1 };

export const AuthContext = createContext<AuthState>(OPEN);

export const useAuth = () => useContext(AuthContext);

/** A control's state for the signed-in role: disabled, with a title saying which role it needs. */
export function useCan() {
  const role = useAuth().me.role;
  return useCallback((need: Role, title?: string) => {
    const ok = allowed(role, need);
    return { disabled: !ok, title: ok ? title : needsRole(need) };
  }, [role]);
}
