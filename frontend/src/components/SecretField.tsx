// A Secret input: what is typed is stored on the server (write-only, encrypted) and the
// graph keeps only {"$secret": name}; a stored value is never shown.
import { useState } from "react";
import { Badge, Button, Form, InputGroup } from "react-bootstrap";
import { Api } from "../api/client";
import { useCan } from "../hooks/useAuth";
import type { Port } from "../types";

interface Props {
  port: Port;
  value: unknown;
  /** The name the secret is stored under when one is typed here. */
  secretName: string;
  readOnly: boolean;
  onChange: (value: unknown) => void;
}

export function SecretField({ port, value, secretName: name, readOnly, onChange }: Props) {
  const [typed, setTyped] = useState("");
  const [state, setState] = useState<{ busy?: boolean; error?: string }>({});
  const write = useCan()("admin");
  const ref = value && typeof value === "object" && "$secret" in value ? String(value.$secret) : null;
  const literal = value !== undefined && ref === null;
  const store = async () => {
    setState({ busy: true });
    try {
      await Api.putSecret(name, typed);
      setTyped("");
      setState({});
      onChange({ $secret: name });
    } catch (e) {
      setState({ error: (e as Error).message });
    }
  };
  return (
    <Form.Group className="mb-2" data-testid={`secret-${port.name}`}>
      <Form.Label className="small mb-0">
        {port.title || port.name}{port.required && "*"} <Badge bg="danger">Secret</Badge>
      </Form.Label>
      {(ref || literal) && (
        <div className="small">
          {ref ? <>uses stored secret <code>{ref}</code></> : <>a value is set (hidden)</>}{" "}
          {!readOnly && <Button variant="link" size="sm" className="p-0" onClick={() => onChange(undefined)}>clear</Button>}
        </div>
      )}
      {!readOnly && (
        <InputGroup size="sm">
          <Form.Control type="password" autoComplete="new-password" value={typed} aria-label={port.name}
                        disabled={write.disabled} title={write.title}
                        placeholder={write.disabled ? write.title : ref || literal ? "type to replace" : "type the secret"}
                        onChange={(e) => setTyped(e.target.value)}
                        onKeyDown={(e) => { if (e.key === "Enter" && typed) void store(); }} />
          <Button variant="outline-primary" disabled={!typed || state.busy || write.disabled} title={write.title}
                  onClick={() => void store()}>Store</Button>
        </InputGroup>
      )}
      {state.error && <div className="text-danger small">{state.error}</div>}
      <Form.Text className="small">
        {port.description ? `${port.description}. ` : ""}Kept encrypted on the server as <code>{name}</code>.
      </Form.Text>
    </Form.Group>
  );
}
