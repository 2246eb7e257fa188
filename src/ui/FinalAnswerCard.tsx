// The extracted final answer, shown prominently with a copy button.
import type { FinalAnswer } from '../reasoning/answer';
import { CopyButton } from './CopyButton';
import { Markdown } from './Markdown';

const TITLE: Record<FinalAnswer['kind'], string> = { boxed: 'Final answer', choice: 'Chosen answer', code: 'Solution code', open: 'Answer' };

function FinalValue({ final }: { final: FinalAnswer }) {
  switch (final.kind) {
    case 'code':
      return <Markdown text={'```python\n' + final.value.replaceAll('```', '`\u200b``') + '\n```'} />;
    case 'boxed':
      return <Markdown text={`$${final.value.replaceAll('$', '\\$')}$`} />;
    case 'open':
      return <Markdown text={final.value} />;
    case 'choice':
      return <span>{final.value}</span>;
  }
}

export function FinalAnswerCard({ final }: { final: FinalAnswer }) {
  return (
    <section className="final-answer" aria-label={TITLE[final.kind]} data-testid="final-answer">
      <div className="final-answer-head">
        <h3>{TITLE[final.kind]}</h3>
        <CopyButton text={final.value} label={final.kind === 'code' ? 'Copy code' : 'Copy answer'} />
      </div>
      <div className="final-answer-value">
        <FinalValue final={final} />
      </div>
    </section>
  );
}
