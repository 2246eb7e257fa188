import { describe, expect, it } from 'vitest';
import qwenTemplate from '../../scripts/fixtures/qwen2.5-chat-template.jinja?raw';
import { BoxedError } from '../protocol/errors';
import { renderChat } from './template';

const DEFAULT_SYSTEM = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';

function errorOf(f: () => unknown): BoxedError {
  try {
    f();
  } catch (e) {
    if (e instanceof BoxedError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('renderChat with the Qwen2.5 template', () => {
  it('renders an empty system turn exactly as in training', () => {
    const text = renderChat(
      qwenTemplate,
      [
        { role: 'system', content: '' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      { addGenerationPrompt: true },
    );
    expect(text).toBe('<|im_start|>system\n<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('inserts the default system prompt when none is given', () => {
    const text = renderChat(qwenTemplate, [{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    expect(text).toBe(`<|im_start|>system\n${DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n`);
  });

  it('omits the generation prompt on request and renders multi-turn chats', () => {
    const text = renderChat(
      qwenTemplate,
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'a\n\nb {{x}} <think>' },
        { role: 'assistant', content: '<think>\nok\n</think>\n\nc' },
        { role: 'user', content: 'ünïcödé 👍' },
      ],
      { addGenerationPrompt: false },
    );
    expect(text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n' +
        '<|im_start|>user\na\n\nb {{x}} <think><|im_end|>\n' +
        '<|im_start|>assistant\n<think>\nok\n</think>\n\nc<|im_end|>\n' +
        '<|im_start|>user\nünïcödé 👍<|im_end|>\n',
    );
  });

  it('passes bos and eos tokens to the template', () => {
    const t = '{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}';
    expect(renderChat(t, [{ role: 'user', content: 'x' }], { addGenerationPrompt: false, bosToken: '<s>', eosToken: '</s>' })).toBe('<s>x</s>');
    expect(renderChat(t, [{ role: 'user', content: 'x' }], { addGenerationPrompt: false })).toBe('x');
  });

  it('reports a template that does not parse as ModelFormat in tokenizer_config.json', () => {
    for (const bad of ['{% for m in messages %}{{ m.content }}', '{{ messages[0].content ', '']) {
      const e = errorOf(() => renderChat(bad, [{ role: 'user', content: 'x' }], { addGenerationPrompt: true }));
      expect(e.name).toBe('ModelFormat');
      expect(e.file).toBe('tokenizer_config.json');
    }
  });

  it('reports a template failing at render time as ModelFormat', () => {
    const e = errorOf(() => renderChat('{{ messages[0].content.nope() }}', [{ role: 'user', content: 'x' }], { addGenerationPrompt: true }));
    expect(e.name).toBe('ModelFormat');
  });

  it('turns raise_exception and malformed messages into InvalidRequest', () => {
    const strict = "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok";
    expect(renderChat(strict, [{ role: 'user', content: 'x' }], { addGenerationPrompt: true })).toBe('ok');
    const e = errorOf(() => renderChat(strict, [{ role: 'assistant', content: 'x' }], { addGenerationPrompt: true }));
    expect(e.name).toBe('InvalidRequest');
    expect(e.message).toContain('first must be user');
    const bad = [{ role: 'tool', content: 'x' }] as unknown as { role: 'user'; content: string }[];
    expect(errorOf(() => renderChat(qwenTemplate, bad, { addGenerationPrompt: true })).name).toBe('InvalidRequest');
  });
});

describe('renderChat on hostile templates', () => {
  const user = [{ role: 'user' as const, content: 'x' }];
  it.each([
    ['a loop over a billion numbers', '{% for i in range(1000000000) %}{{ i }}{% endfor %}', /range\(\) of 1,000,000,000 numbers/],
    ['nested loops', '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}', /evaluation steps|longer than/],
    ['a string doubled without end', "{% set s = 'ab' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}{{ s }}", /a string of|characters of text/],
    // (a `set` inside a loop does not leak out of it, so the string is doubled at the top level)
    ['a long string printed many times', "{% set t = 'abcdefg' %}" + '{% set t = t ~ t %}'.repeat(20) + '{% for i in range(100000) %}{{ t }}{% endfor %}', /characters of text made/],
    ['endless recursion', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}', /.+/],
  ])('%s ends in a ModelFormat error naming the file, quickly', (_what, template, message) => {
    const t0 = Date.now();
    const e = errorOf(() => renderChat(template, user, { addGenerationPrompt: true }));
    expect(e.name).toBe('ModelFormat');
    expect(e.file).toBe('tokenizer_config.json');
    expect(e.message).toMatch(message);
    // Bounded: the default budget is 2 s; generous so a loaded machine does not fail it.
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('stops at the time limit of a smaller budget', () => {
    const slow = '{% for i in range(100000) %}{% for j in range(100) %}{{ i * j }}{% endfor %}{% endfor %}';
    const e = errorOf(() => renderChat(slow, user, { addGenerationPrompt: true, budget: { ms: 50, steps: 1e12, maxString: 1e9, totalChars: 1e12 } }));
    expect(e.message).toMatch(/longer than 50 ms/);
  });

  it('refuses an oversized template text', () => {
    const e = errorOf(() => renderChat('{{ "a" }}'.repeat(40_000), user, { addGenerationPrompt: true }));
    expect(e.name).toBe('ModelFormat');
    expect(e.message).toMatch(/characters long/);
  });

  it('still renders a long real conversation within the budget', () => {
    const long = Array.from({ length: 200 }, (_, i) => ({ role: (i % 2 === 0 ? 'user' : 'assistant') as 'user' | 'assistant', content: `turn ${i} ` + 'word '.repeat(2000) }));
    const text = renderChat(qwenTemplate, [{ role: 'system', content: '' }, ...long], { addGenerationPrompt: true });
    expect(text.length).toBeGreaterThan(200 * 10_000);
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
  });
});
