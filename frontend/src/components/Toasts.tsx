import { useCallback, useState } from "react";
import { Toast, ToastContainer } from "react-bootstrap";

export interface ToastItem {
  id: number;
  message: string;
  variant: "danger" | "success" | "info" | "warning";
}

let nextId = 1;

export function useToasts() {
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const push = useCallback((message: string, variant: ToastItem["variant"] = "info") => {
    const id = nextId++;
    setToasts((t) => [...t.slice(-4), { id, message, variant }]);
  }, []);
  const dismiss = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  return { toasts, push, dismiss };
}

export function Toasts({ toasts, dismiss }: { toasts: ToastItem[]; dismiss: (id: number) => void }) {
  return (
    <ToastContainer position="bottom-end" className="p-3 nbx-toasts">
      {toasts.map((t) => (
        <Toast key={t.id} bg={t.variant} onClose={() => dismiss(t.id)} autohide delay={t.variant === "danger" ? 8000 : 4000}
               data-testid="toast" role={t.variant === "danger" ? "alert" : "status"}>
          <Toast.Body className={t.variant === "warning" || t.variant === "info" ? "" : "text-white"}>{t.message}</Toast.Body>
        </Toast>
      ))}
    </ToastContainer>
  );
}
