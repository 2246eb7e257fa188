import { describe, expect, it } from 'vitest';
import qwenTemplate from '../../scripts/fixtures/qwen2.5-chat-template.jinja?raw';
import type { Mode } from '../protocol/engine';
import { buildMessages, isMode, MODE_LIST, MODES, SCIENCE_OPEN_SYSTEM, userTurn } from './prompts';
import { renderChat } from './template';

const P = 'Find $x$ if {x} + 1 = 3.\n\nA) 1\nB) 2';

describe('buildMessages', () => {
  it('math: the NeMo-Skills generic/math text after an empty system turn', () => {
    expect(buildMessages('math', P)).toEqual([
      { role: 'system', content: '' },
      { role: 'user', content: `Solve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n${P}` },
    ]);
  });

  it('code: the model card text', () => {
    const expected = [
      'You are a helpful and harmless assistant. You should think step-by-step before responding to the instruction below.',
      '',
      'Please use python programming language only.',
      '',
      'You must use ```python for just the final solution code block with the following format:',
      '```python',
      '# Your code here',
      '```',
      '',
      P,
    ].join('\n');
    expect(buildMessages('code', P)).toEqual([
      { role: 'system', content: '' },
      { role: 'user', content: expected },
    ]);
  });

  it('science: 4 and 10 choices', () => {
    expect(buildMessages('science4', P)[1].content).toBe(
      "Answer the following multiple choice question. The last line of your response should be in the following format: 'Answer: \\boxed{A/B/C/D}' (e.g. 'Answer: \\boxed{A}').\n\n" +
        P,
    );
    expect(buildMessages('science10', P)[1].content).toBe(
      "Answer the following multiple choice question. The last line of your response should be in the following format: 'Answer: \\boxed{A/B/C/D/E/F/G/H/I/J}' (e.g. 'Answer: \\boxed{A}').\n\n" +
        P,
    );
    expect(buildMessages('science4', P)[0]).toEqual({ role: 'system', content: '' });
  });

  it('science-open: the HLE system message with literal doubled braces, the problem alone', () => {
    const msgs = buildMessages('science-open', P);
    expect(msgs).toEqual([
      { role: 'system', content: SCIENCE_OPEN_SYSTEM },
      { role: 'user', content: P },
    ]);
    expect(SCIENCE_OPEN_SYSTEM).toBe(
      'Your response should be in the following format:\nExplanation: {{your explanation for your final answer}}\nAnswer: {{your succinct, final answer}}\nConfidence: {{your confidence score between 0% and 100% for your answer}}',
    );
  });

  it('chat: empty system + the text; raw: not a chat', () => {
    expect(buildMessages('chat', P)).toEqual(userTurn(P));
    expect(userTurn(P)[0]).toEqual({ role: 'system', content: '' });
    expect(buildMessages('raw', P)).toBeNull();
  });

  it('renders every chat mode with an empty (or HLE) system turn, never the default one', () => {
    for (const mode of MODE_LIST) {
      const msgs = buildMessages(mode, P);
      if (mode === 'raw') continue;
      expect(msgs).not.toBeNull();
      const text = renderChat(qwenTemplate, msgs ?? [], { addGenerationPrompt: true });
      expect(text).not.toContain('You are Qwen');
      const system = mode === 'science-open' ? SCIENCE_OPEN_SYSTEM : '';
      expect(text.startsWith(`<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\n`)).toBe(true);
      expect(text.endsWith(`${P}<|im_end|>\n<|im_start|>assistant\n`)).toBe(true);
      // The template must not reinterpret braces in the user's text or the system message.
      expect(text).toContain('{x} + 1');
    }
  });

  it('describes every mode for the UI', () => {
    const all: Mode[] = ['raw', 'chat', 'math', 'code', 'science4', 'science10', 'science-open'];
    expect([...MODE_LIST].sort()).toEqual([...all].sort());
    for (const m of all) {
      expect(MODES[m].mode).toBe(m);
      expect(MODES[m].label.length).toBeGreaterThan(0);
      expect(MODES[m].description.length).toBeGreaterThan(0);
      expect(isMode(m)).toBe(true);
    }
    expect(MODES.science4.letters).toBe('ABCD');
    expect(MODES.science10.letters).toBe('ABCDEFGHIJ');
    expect(isMode('toString')).toBe(false);
    expect(isMode('science')).toBe(false);
  });
});
