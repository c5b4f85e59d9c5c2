// Loads who is signed in, shows the login page when the server requires one, and keeps the
// editor (with its unsaved graph) mounted behind the login page when a session ends.
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { Button, Modal, Spinner } from "react-bootstrap";
import { Api } from "../api/client";
import { session } from "../api/session";
import { AuthContext, type AuthState } from "../hooks/useAuth";
import type { Me } from "../types";
import { LoginPage } from "./LoginPage";

const signedIn = (me: Me) => me.auth === "open" || me.user !== null;
const signedOut = (me: Me): Me => ({ ...me, auth: "required", user: null, role: null, csrf: null });

function useSession() {
  const [me, setMe] = useState<Me | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  // The editor was shown: it stays mounted (behind the login page) until one signs out.
  const [entered, setEntered] = useState(false);
  const [signIns, setSignIns] = useState(0);
  const show = useCallback((m: Me) => {
    setMe(m);
    if (signedIn(m)) {
      setEntered(true);
      setSignIns((n) => n + 1);
    }
  }, []);
  const load = useCallback(() => {
    setFailed(null);
    Api.me().then(show).catch((e: unknown) => setFailed((e as Error).message || String(e)));
  }, [show]);
  useEffect(load, [load]);
  useEffect(() => session.onEnded(() => setMe((m) => m && signedOut(m))), []);
  const signOut = useCallback(() => {
    const out = () => { setEntered(false); setMe((m) => m && signedOut(m)); };
    Api.logout().then(out, out);
  }, []);
  return { me, failed, entered, signIns, show, load, signOut };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const { me, failed, entered, signIns, show, load, signOut } = useSession();
  const value = useMemo<AuthState | null>(() => me && { me, signOut, signIns }, [me, signOut, signIns]);
  if (!value) {
    return (
      <div className="nbx-login" data-testid="auth-loading">
        {failed ? (
          <div className="text-center">
            <p className="text-danger" role="alert">Could not reach the server: {failed}</p>
            <Button variant="outline-primary" onClick={load}>Try again</Button>
          </div>
        ) : <Spinner animation="border" aria-label="Loading" />}
      </div>
    );
  }
  const login = !signedIn(value.me);
  return (
    <AuthContext.Provider value={value}>
      {entered && <div className="nbx-session-host" inert={login}>{children}</div>}
      {login && !entered && <LoginPage onSignedIn={show} expired={false} />}
      {/* Over the editor, the page is a modal too: the topmost one keeps the focus, so a dialog left
          open under it no longer pulls the focus back from the sign-in fields. */}
      {login && entered && (
        <Modal show fullscreen animation={false} backdrop={false} keyboard={false} aria-label="Sign in"
               className="nbx-login-modal">
          <LoginPage onSignedIn={show} expired />
        </Modal>
      )}
    </AuthContext.Provider>
  );
}
