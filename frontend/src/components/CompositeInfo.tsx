// A composite node (a stored graph used as a brick): its pinned revision, a newer one, and opening it.
import { Alert, Button } from "react-bootstrap";
import { useEditorActions } from "../lib/editorActions";
import { compositePin, newerRevision, usePalette } from "../lib/palette";

export function CompositeInfo({ brick, readOnly, onPin }: {
  brick: string; readOnly: boolean; onPin: (brick: string) => void;
}) {
  const { byId } = usePalette();
  const { openComposite } = useEditorActions();
  const pin = compositePin(brick);
  if (!pin) return null;
  const newer = newerRevision(byId, brick);
  const latest = byId.get(pin.base)?.revision;
  return (
    <div className="small mb-2" data-testid="composite-info">
      <div>
        Graph <code>{pin.graph}</code>,{" "}
        {pin.revision !== null ? <>pinned to revision <strong>{pin.revision}</strong></>
          : <>the latest revision{latest ? ` (${latest})` : ""}, pinned on save</>}
      </div>
      {newer && (
        <Alert variant="info" className="p-1 my-1" data-testid="composite-newer">
          Revision {newer} of this graph is available.{" "}
          <Button size="sm" variant="primary" className="py-0" disabled={readOnly}
                  onClick={() => onPin(`${pin.base}@${newer}`)}>Update to revision {newer}</Button>
        </Alert>
      )}
      <Button size="sm" variant="outline-primary" className="mt-1" data-testid="open-composite"
              title="Open this composite's graph (the outer graph stays one click away)"
              onClick={() => openComposite(pin.graph, pin.revision ?? latest ?? null)}>
        Open composite{pin.revision !== null ? ` (revision ${pin.revision})` : ""}
      </Button>
    </div>
  );
}
