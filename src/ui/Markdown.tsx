// Model output (untrusted) as Markdown. The renderer and its libraries (react-markdown, KaTeX,
// highlight.js: most of the app's JavaScript) are a separate chunk, loaded the first time an answer is shown
// (or earlier, when the page is idle: preloadMarkdown); until it arrives the text shows as plain text, which
// React escapes. The rules for untrusted text are in markdown-render.tsx.
import { lazy, memo, Suspense } from 'react';

export { normalizeMath, safeUrl } from './markdown-text';

const load = () => import('./markdown-render');
const MarkdownRender = lazy(load);

/** Starts loading the renderer now (it is cached: calling it again costs nothing). */
export function preloadMarkdown(): void {
  void load();
}

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <Suspense fallback={<div className="markdown markdown-loading">{text}</div>}>
      <MarkdownRender text={text} />
    </Suspense>
  );
});
