import { useEffect, useState } from "react";
import { Button, ListGroup, Modal, Spinner } from "react-bootstrap";
import { Api } from "../api/client";
import { formatTime } from "../lib/format";
import type { GraphInfo, GraphSummary } from "../types";

interface Props {
  show: boolean;
  onHide: () => void;
  onOpen: (id: string, revision: number, latest: number) => void;
  onError: (message: string) => void;
}

export function OpenDialog({ show, onHide, onOpen, onError }: Props) {
  const [graphs, setGraphs] = useState<GraphSummary[] | null>(null);
  const [info, setInfo] = useState<GraphInfo | null>(null);
  useEffect(() => {
    if (!show) return;
    setInfo(null);
    setGraphs(null);
    Api.graphs().then(setGraphs).catch((e: Error) => { onError(e.message); setGraphs([]); });
  }, [show, onError]);
  const pick = (id: string) => Api.graph(id).then(setInfo).catch((e: Error) => onError(e.message));
  return (
    // No fade: closed at once, it is not taken down over a large graph just drawn (bench/editor_render.py).
    <Modal show={show} onHide={onHide} size="lg" animation={false}>
      <Modal.Header closeButton><Modal.Title>Open a graph</Modal.Title></Modal.Header>
      <Modal.Body className="d-flex gap-3">
        <div className="flex-fill">
          {graphs === null ? <Spinner size="sm" animation="border" /> : (
            <ListGroup data-testid="graph-list">
              {graphs.map((g) => (
                <ListGroup.Item key={g.id} action active={info?.id === g.id} onClick={() => pick(g.id)}>
                  <div className="fw-semibold">{g.name}</div>
                  <div className="small" data-testid={`graph-${g.id}`}>
                    id <code className="text-reset">{g.id}</code> · revision {g.latest_revision} · updated {formatTime(g.updated_at)}
                  </div>
                </ListGroup.Item>
              ))}
              {!graphs.length && <ListGroup.Item>No saved graph yet.</ListGroup.Item>}
            </ListGroup>
          )}
        </div>
        <div className="flex-fill">
          {info && (
            <>
              <div className="small text-body-secondary mb-1">{info.name} · id <code>{info.id}</code></div>
              <Button className="mb-2" onClick={() => onOpen(info.id, info.latest_revision, info.latest_revision)}>
                Open latest (revision {info.latest_revision})
              </Button>
              <div className="small fw-semibold">Revisions (older ones open read-only)</div>
              <ListGroup data-testid="revision-list">
                {[...info.revisions].reverse().map((r) => (
                  <ListGroup.Item key={r.number} action className="small py-1"
                                  onClick={() => onOpen(info.id, r.number, info.latest_revision)}>
                    revision {r.number} · {formatTime(r.created_at)}
                  </ListGroup.Item>
                ))}
              </ListGroup>
            </>
          )}
        </div>
      </Modal.Body>
    </Modal>
  );
}
