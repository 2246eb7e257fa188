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
