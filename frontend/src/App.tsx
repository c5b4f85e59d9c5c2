import { ReactFlowProvider } from "@xyflow/react";
import { AuthProvider } from "./components/AuthProvider";
import { Editor } from "./components/Editor";

export function App() {
  return (
    <AuthProvider>
      <ReactFlowProvider>
        <Editor />
      </ReactFlowProvider>
    </AuthProvider>
  );
}
