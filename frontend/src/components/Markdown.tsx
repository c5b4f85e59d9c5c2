// Brick help, written in Markdown: rendered by marked, then sanitised (DOMPurify) before it is shown.
import { memo, useMemo } from "react";
import { marked } from "marked";
import DOMPurify from "dompurify";

export function markdownHtml(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }));
}

export const Markdown = memo(function Markdown({ text, className = "" }: { text: string; className?: string }) {
  const html = useMemo(() => markdownHtml(text), [text]);
  return <div className={`nbx-md ${className}`} dangerouslySetInnerHTML={{ __html: html }} />;
});

/** The first paragraph of a brick's help, the rest behind "More". */
export function BrickHelp({ docs }: { docs: string }) {
  const [first, ...rest] = docs.trim().split(/\n\s*\n/);
  return (
    <div className="text-body-secondary mt-1" data-testid="brick-help">
      <Markdown text={first} />
      {rest.length > 0 && (
        <details className="small">
          <summary>More</summary>
          <Markdown text={rest.join("\n\n")} />
        </details>
      )}
    </div>
  );
}
