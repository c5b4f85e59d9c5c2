import { Badge } from "react-bootstrap";

const VARIANT: Record<string, string> = {
  succeeded: "success", failed: "danger", running: "primary", waiting: "warning",
  cancelled: "secondary", skipped: "secondary", queued: "info", pending: "light",
};

export const StatusBadge = ({ status }: { status: string }) => (
  <Badge bg={VARIANT[status] ?? "secondary"} text={status === "pending" ? "dark" : undefined}>{status}</Badge>
);

