import { useCallback, useState } from "react";
import { Button, Toast, ToastContainer } from "react-bootstrap";

/** A button on a toast: what the message offers to do. */
export interface ToastAction {
  label: string;
  run: () => void;
}

export interface ToastItem {
  id: number;
  message: string;
  variant: "danger" | "success" | "info" | "warning";
  action?: ToastAction;
}

let nextId = 1;

export function useToasts() {
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const push = useCallback((message: string, variant: ToastItem["variant"] = "info", action?: ToastAction) => {
    const id = nextId++;
    setToasts((t) => [...t.slice(-4), { id, message, variant, ...(action ? { action } : {}) }]);
  }, []);
  const dismiss = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  return { toasts, push, dismiss };
}

export function Toasts({ toasts, dismiss }: { toasts: ToastItem[]; dismiss: (id: number) => void }) {
  return (
    <ToastContainer position="bottom-end" className="p-3 nbx-toasts">
      {toasts.map((t) => (
        <Toast key={t.id} bg={t.variant} onClose={() => dismiss(t.id)} autohide
               delay={t.action ? 12000 : t.variant === "danger" ? 8000 : 4000}
               data-testid="toast" role={t.variant === "danger" ? "alert" : "status"}>
          <Toast.Body className={t.variant === "warning" || t.variant === "info" ? "" : "text-white"}>
            {t.message}
            {t.action && (
              <div className="mt-2">
                <Button size="sm" variant="dark" data-testid="toast-action"
                        onClick={() => { dismiss(t.id); t.action!.run(); }}>{t.action.label}</Button>
              </div>
            )}
          </Toast.Body>
        </Toast>
      ))}
    </ToastContainer>
  );
}
