// The questions asked before work could be lost: replace unsaved work? restore it after a
// reload? save over a graph of the same name?
import { Button, Modal } from "react-bootstrap";
import { formatTime } from "../lib/format";
import type { GraphSummary } from "../types";
import type { Draft } from "../hooks/useDraft";
import type { SafeFile } from "../hooks/useSafeFile";

export type LeaveAnswer = "save" | "discard" | "cancel";
export type SaveAsAnswer = "revision" | "new" | "cancel";

/** Before New, Open or Import replace unsaved work. */
export function ConfirmLeave({ what, name, canSave, saveTitle, onAnswer }: {
  what: string | null; name: string; canSave: boolean; saveTitle?: string; onAnswer: (a: LeaveAnswer) => void;
}) {
  return (
    <Modal show={what !== null} onHide={() => onAnswer("cancel")} data-testid="confirm-leave">
      <Modal.Header closeButton><Modal.Title>Unsaved changes</Modal.Title></Modal.Header>
      <Modal.Body>
        The graph <strong>{name}</strong> has changes that are not saved. Save them before you {what}?
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={() => onAnswer("cancel")}>Cancel</Button>
        <Button variant="outline-danger" onClick={() => onAnswer("discard")}>Discard changes</Button>
        <Button onClick={() => onAnswer("save")} disabled={!canSave} title={saveTitle}>Save</Button>
      </Modal.Footer>
    </Modal>
  );
}

/** After a reload: the graph that was not saved, kept in this browser. */
export function RestoreDraft({ draft, onAnswer }: { draft: Draft | null; onAnswer: (restore: boolean) => void }) {
  return (
    <Modal show={draft !== null} onHide={() => onAnswer(false)} data-testid="restore-draft">
      <Modal.Header closeButton><Modal.Title>Restore unsaved graph &apos;{draft?.doc.name}&apos;?</Modal.Title></Modal.Header>
      <Modal.Body>
        When this page was left, the graph <strong>{draft?.doc.name}</strong> ({draft?.doc.nodes.length} nodes
        {draft?.file.id ? `, changed from revision ${draft.file.revision}` : ", never saved"}) had changes that were
        not saved. They were kept in this browser{draft ? ` at ${formatTime(new Date(draft.at).toISOString())}` : ""}.
      </Modal.Body>
      <Modal.Footer>
        <Button variant="outline-danger" onClick={() => onAnswer(false)}>Discard it</Button>
        <Button onClick={() => onAnswer(true)}>Restore</Button>
      </Modal.Footer>
    </Modal>
  );
}

/** Saving a graph that is not stored yet under a name a stored graph has. */
export function SaveAs({ existing, onAnswer }: { existing: GraphSummary | null; onAnswer: (a: SaveAsAnswer) => void }) {
  return (
    <Modal show={existing !== null} onHide={() => onAnswer("cancel")} data-testid="save-as">
      <Modal.Header closeButton><Modal.Title>A graph named {existing?.name} exists</Modal.Title></Modal.Header>
      <Modal.Body>
        <p>
          The stored graph <strong>{existing?.name}</strong> (id <code>{existing?.id}</code>, revision{" "}
          {existing?.latest_revision}, updated {existing ? formatTime(existing.updated_at) : ""}) has the same name.
        </p>
        <p className="mb-0">Save this graph as its new revision, or as a new graph of the same name?</p>
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={() => onAnswer("cancel")}>Cancel</Button>
        <Button variant="outline-primary" onClick={() => onAnswer("new")}>Save as a new graph</Button>
        <Button onClick={() => onAnswer("revision")}>Save as its new revision</Button>
      </Modal.Footer>
    </Modal>
  );
}

/** All three, as `useSafeFile` asks them. */
export function UnsavedDialogs({ safe, name, canSave, saveTitle }: {
  safe: SafeFile; name: string; canSave: boolean; saveTitle?: string;
}) {
  return (
    <>
      <ConfirmLeave what={safe.leave.question} name={name} canSave={canSave} saveTitle={saveTitle}
                    onAnswer={safe.leave.answer} />
      <SaveAs existing={safe.saveAs.question} onAnswer={safe.saveAs.answer} />
      <RestoreDraft draft={safe.offer} onAnswer={safe.restore} />
    </>
  );
}
