// Renders model output (untrusted) as Markdown with KaTeX math and highlighted code. No raw HTML ever
// becomes markup: react-markdown without rehype-raw turns HTML in the text into plain text. Links keep
// only absolute http(s) URLs and open with rel="noopener noreferrer"; images are never fetched (the
// alt text is shown instead); KaTeX runs with trust off, so \href and friends cannot make links.
import { memo, type ComponentProps } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import rehypeKatex from 'rehype-katex';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';
import { normalizeMath, safeUrl } from './markdown-text';

function Link({ href, children }: ComponentProps<'a'>) {
  const url = safeUrl(href ?? '');
  if (!url) return <span className="md-link-dead">{children}</span>;
  return (
    <a href={url} target="_blank" rel="noopener noreferrer nofollow">
      {children}
    </a>
  );
}

function Image({ alt }: ComponentProps<'img'>) {
  return <span className="md-image">[image{alt ? `: ${alt}` : ''}]</span>;
}

const components: Components = {
  a: ({ node: _node, ...props }) => <Link {...props} />,
  img: ({ node: _node, ...props }) => <Image {...props} />,
};

const katexOptions = { throwOnError: false, strict: 'ignore' as const, trust: false, maxExpand: 200, maxSize: 50 };

const MarkdownRender = memo(function MarkdownRender({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm, remarkMath]}
        rehypePlugins={[[rehypeKatex, katexOptions], [rehypeHighlight, { detect: false, ignoreMissing: true }]]}
        urlTransform={safeUrl}
        components={components}
        skipHtml={false}
      >
        {normalizeMath(text)}
      </ReactMarkdown>
    </div>
  );
});

export default MarkdownRender;
