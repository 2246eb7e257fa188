// The extracted final answer, shown prominently with a copy button.
import type { FinalAnswer } from './answer-view';
import { CopyButton } from './CopyButton';
import { Markdown } from './Markdown';

const TITLE: Record<FinalAnswer['kind'], string> = { boxed: 'Final answer', choice: 'Chosen answer', code: 'Solution code' };

export function FinalAnswerCard({ final }: { final: FinalAnswer }) {
  return (
    <section className="final-answer" aria-label={TITLE[final.kind]} data-testid="final-answer">
      <div className="final-answer-head">
        <h3>{TITLE[final.kind]}</h3>
        <CopyButton text={final.value} label={final.kind === 'code' ? 'Copy code' : 'Copy answer'} />
      </div>
      <div className="final-answer-value">
        {final.kind === 'code' ? <Markdown text={'```python\n' + final.value.replaceAll('```', '`\u200b``') + '\n```'} /> : final.kind === 'boxed' ? <Markdown text={`$${final.value.replaceAll('$', '\\$')}$`} /> : <span>{final.value}</span>}
      </div>
    </section>
  );
}
