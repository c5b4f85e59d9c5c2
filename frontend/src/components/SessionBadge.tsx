import { memo } from "react";
import { Button } from "react-bootstrap";
import { useAuth } from "../hooks/useAuth";

/** Who is signed in and their role, with Sign out; the open (single-user) mode says so. */
export const SessionBadge = memo(function SessionBadge() {
  const { me, signOut } = useAuth();
  if (me.auth === "open") {
    return <span className="small text-body-secondary align-self-center" data-testid="session-user"
                 title="Single-user mode: no sign-in">{me.user ?? "local"} (open mode)</span>;
  }
  return (
    <span className="d-flex align-items-center gap-1">
      <span className="small" data-testid="session-user">{me.user} · {me.role}</span>
      <Button size="sm" variant="outline-secondary" onClick={signOut}>Sign out</Button>
    </span>
  );
});
