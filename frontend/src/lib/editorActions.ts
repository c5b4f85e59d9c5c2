import { createContext, useContext } from "react";

/** What panels deep in the editor may ask of it (instead of callbacks threaded through props). */
export interface EditorActions {
  /** Open a composite's graph at a revision (asks first when there is unsaved work). */
  openComposite: (graphId: string, revision: number | null) => void;
}

export const EditorActionsContext = createContext<EditorActions>({ openComposite: () => undefined });
export const useEditorActions = () => useContext(EditorActionsContext);
