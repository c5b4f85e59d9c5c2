import { ReactFlowProvider } from "@xyflow/react";
import { Editor } from "./components/Editor";

export function App() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
