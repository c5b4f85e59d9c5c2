import { Badge } from "react-bootstrap";

const VARIANT: Record<string, string> = {
  succeeded: "success", failed: "danger", running: "primary", waiting: "warning",
  cancelled: "secondary", skipped: "secondary", queued: "info", pending: "light",
};

// One icon per status (bootstrap-icons): a grid of 100 hosts x 6 phases fits the run panel with
// these where the words ("succeeded") pushed every phase after the third out of sight.
const ICON: Record<string, string> = {
  succeeded: "check-lg", failed: "x-lg", running: "arrow-repeat", waiting: "hourglass-split",
  cancelled: "slash-circle", skipped: "skip-forward", queued: "clock", pending: "three-dots",
};

export const StatusBadge = ({ status }: { status: string }) => (
  <Badge bg={VARIANT[status] ?? "secondary"} text={status === "pending" ? "dark" : undefined}>{status}</Badge>
);

/** The status as a small coloured icon, its name in text for screen readers and tests. */
export const StatusMark = ({ status }: { status: string }) => (
  <Badge bg={VARIANT[status] ?? "secondary"} text={status === "pending" ? "dark" : undefined} className="nbx-mark">
    <i className={`bi bi-${ICON[status] ?? "question-lg"}`} aria-hidden="true" />
    <span className="visually-hidden">{status}</span>
  </Badge>
);
