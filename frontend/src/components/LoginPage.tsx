// The sign-in page: shown when the server requires a login and no one is signed in, also over an
// open editor whose session ended (the editor stays as it was, behind it).
import { useState, type FormEvent } from "react";
import { Button, Card, Form, Spinner } from "react-bootstrap";
import { Api, ApiError } from "../api/client";
import type { Me } from "../types";

export function loginError(e: unknown): string {
  if (!(e instanceof ApiError)) return "Could not reach the server; try again.";
  const detail = typeof e.detail === "string" ? e.detail : null;
  if (e.status === 401) return detail ?? "Wrong user name or password.";
  if (e.status === 429) {
    const wait = e.retryAfter ? ` Try again in ${e.retryAfter} s.` : " Try again later.";
    return `${detail ?? "Too many attempts."}${wait}`;
  }
  return e.message;
}

interface Props {
  onSignedIn: (me: Me) => void;
  /** The session ended while the editor was open. */
  expired: boolean;
}

export function LoginPage({ onSignedIn, expired }: Props) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await Api.login(username.trim(), password);
      setPassword("");
      onSignedIn(me);
    } catch (err) {
      setError(loginError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="nbx-login" data-testid="login-page">
      <Card className="nbx-login-card shadow-sm">
        <Card.Body>
          <Card.Title as="h1" className="fs-5">Nebh-X</Card.Title>
          <p className="small text-body-secondary">
            {expired ? "Your session ended. Sign in again to go on where you were." : "Sign in to use the editor."}
          </p>
          <Form onSubmit={(e) => void submit(e)}>
            <Form.Group className="mb-2" controlId="nbx-login-user">
              <Form.Label className="small mb-0">User name</Form.Label>
              <Form.Control value={username} autoComplete="username" autoFocus disabled={busy}
                            onChange={(e) => setUsername(e.target.value)} />
            </Form.Group>
            <Form.Group className="mb-2" controlId="nbx-login-password">
              <Form.Label className="small mb-0">Password</Form.Label>
              <Form.Control type="password" value={password} autoComplete="current-password" disabled={busy}
                            onChange={(e) => setPassword(e.target.value)} />
            </Form.Group>
            {error && <div className="text-danger small mb-2" role="alert" data-testid="login-error">{error}</div>}
            <Button type="submit" className="w-100" disabled={busy || !username.trim() || !password}>
              {busy && <Spinner size="sm" animation="border" className="me-1" />}Sign in
            </Button>
          </Form>
        </Card.Body>
      </Card>
    </div>
  );
}
