// "Canary of my service": a few facts about one's app, made into the reviewed canary graph
// (POST /api/templates/canary, from examples/canary-update.json) that opens on the canvas.
import { useEffect, useState, type ReactNode } from "react";
import { Alert, Button, Col, Form, Modal, Row } from "react-bootstrap";
import { ApiError } from "../api/client";
import { canaryRequest, emptyCanaryForm, fieldOf, type CanaryForm, type CanaryRequest } from "../lib/canary";

interface Props {
  show: boolean;
  onHide: () => void;
  /** Make the graph and put it on the canvas; rejects with the server's problems. */
  onMake: (body: CanaryRequest) => Promise<unknown>;
}

type Text = Exclude<keyof CanaryForm, "checks">;

export function CanaryDialog({ show, onHide, onMake }: Props) {
  const [form, setForm] = useState<CanaryForm>(emptyCanaryForm);
  const [bad, setBad] = useState<Partial<Record<keyof CanaryForm, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { if (show) { setBad({}); setError(null); } }, [show]);
  const set = (k: Text, v: string) => setForm((f) => ({ ...f, [k]: v }));

  const submit = async () => {
    const { body, error: wrong } = canaryRequest(form);
    if (!body) return setBad({ [wrong![0]]: wrong![1] });
    setBad({});
    setError(null);
    setBusy(true);
    try {
      await onMake(body);
    } catch (e) {
      const named: Partial<Record<keyof CanaryForm, string>> = {};
      const rest: string[] = [];
      for (const p of e instanceof ApiError ? e.problems : []) {
        const f = fieldOf(p.path);
        if (f) named[f] = p.message.replace(/^body\/[^:]*: /, "");
        else rest.push(p.node ? `${p.node}${p.port ? `.${p.port}` : ""}: ${p.message}` : p.message);
      }
      setBad(named);
      setError(rest.join("; ") || (Object.keys(named).length ? null : (e as Error).message));
    } finally {
      setBusy(false);
    }
  };

  const field = (k: Text, label: string, help: ReactNode, opts: { placeholder?: string; required?: boolean } = {}) => (
    <Form.Group className="mb-2" controlId={`canary-${k}`}>
      <Form.Label className="small mb-0">{label}{opts.required && " *"}</Form.Label>
      <Form.Control size="sm" value={form[k]} placeholder={opts.placeholder} isInvalid={!!bad[k]}
                    onChange={(e) => set(k, e.target.value)} data-testid={`canary-${k}`}
                    className={k === "command" ? "font-monospace" : undefined} />
      <Form.Control.Feedback type="invalid">{bad[k]}</Form.Control.Feedback>
      <Form.Text className="d-block">{help}</Form.Text>
    </Form.Group>
  );
  const check = (i: number, patch: Partial<CanaryForm["checks"][number]>) =>
    setForm((f) => ({ ...f, checks: f.checks.map((c, j) => (j === i ? { ...c, ...patch } : c)) }));

  return (
    <Modal show={show} onHide={onHide} size="lg" data-testid="canary-dialog">
      <Modal.Header closeButton><Modal.Title>Canary update of my service</Modal.Title></Modal.Header>
      <Modal.Body>
        <p className="small">
          Makes the reviewed canary graph of <code>examples/canary-update.json</code> for your app: pick the hosts,
          prepare the new release on all of them, switch a canary share first with its checks, e-mail the admin and
          wait for approval, then the rest one host at a time and commit; a rejection or a failure rolls back what
          this run switched. It opens unsaved: look it over, change what you like, then Save and Run.
        </p>
        <Form id="canary-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
          <Row>
            <Col md={6}>{field("service", "Service", "Its name on every host (the supervisord program)",
                               { placeholder: "e.g. shop", required: true })}</Col>
            <Col md={6}>{field("selector", "Hosts", "A label selector; empty: every host that is up",
                               { placeholder: "e.g. role=web" })}</Col>
          </Row>
          <Row>
            <Col md={8}>{field("source", "New release", "A folder or archive on each host, an https URL or pip:SPEC",
                               { placeholder: "/srv/builds/shop-2.0", required: true })}</Col>
            <Col md={4}>{field("release_id", "Release id", "Its version", { placeholder: "2.0.0", required: true })}</Col>
          </Row>
          {field("command", "Command", <>Starts the app; may use <code>{"{release}"}</code> (the release folder),{" "}
            <code>{"{port}"}</code>, <code>{"{data}"}</code> (its data volume), <code>{"{config}"}</code></>,
                 { placeholder: "python3 {release}/app.py --port {port}", required: true })}
          <Row>
            <Col md={4}>{field("port", "Port", "Where it listens", { placeholder: "8080" })}</Col>
            <Col md={8}>{field("ready_http", "Ready when", "An HTTP path that answers 200 once it has started",
                               { placeholder: "/health" })}</Col>
          </Row>
          <Form.Label className="small mb-0">Checks after the switch</Form.Label>
          {form.checks.map((c, i) => (
            <Row key={i} className="mb-1 g-1 align-items-center">
              <Col xs={4}><Form.Control size="sm" value={c.path} aria-label={`Check ${i + 1} path`} placeholder="/"
                                        data-testid={`canary-check-path-${i}`} onChange={(e) => check(i, { path: e.target.value })} /></Col>
              <Col><Form.Control size="sm" value={c.contains} aria-label={`Check ${i + 1} contains`}
                                 placeholder="text the answer must contain" data-testid={`canary-check-contains-${i}`}
                                 onChange={(e) => check(i, { contains: e.target.value })} /></Col>
              <Col xs="auto"><Button size="sm" variant="outline-secondary" aria-label={`Remove check ${i + 1}`}
                                     onClick={() => setForm((f) => ({ ...f, checks: f.checks.filter((_, j) => j !== i) }))}>×</Button></Col>
            </Row>
          ))}
          <Button size="sm" variant="outline-primary" className="mb-2"
                  onClick={() => setForm((f) => ({ ...f, checks: [...f.checks, { path: "/", contains: "" }] }))}>+ Add check</Button>
          {bad.checks && <div className="text-danger small">{bad.checks}</div>}
          {field("admin_email", "E-mail", "Who is asked to approve and told of a rollback (comma-separated); "
                 + "empty: the example's", { placeholder: "you@example.org" })}
        </Form>
        {error && <Alert variant="danger" className="small p-2 mb-0" data-testid="canary-error">{error}</Alert>}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={onHide}>Cancel</Button>
        <Button type="submit" form="canary-form" disabled={busy} data-testid="canary-make">Make the graph</Button>
      </Modal.Footer>
    </Modal>
  );
}
