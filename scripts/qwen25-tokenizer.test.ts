import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { qwen25TokenizerFiles } from './qwen25-tokenizer';

interface Files {
  tokenizerJson: { added_tokens: { id: number; content: string; special: boolean }[]; model: { vocab: Record<string, number> } };
  tokenizerConfig: Record<string, unknown> & { added_tokens_decoder: Record<string, { content: string }> };
}

describe('qwen25TokenizerFiles', () => {
  it('derives Qwen2.5 files: 151643 vocabulary entries, 22 added tokens, no <think>', async () => {
    const { tokenizerJson, tokenizerConfig } = (await qwen25TokenizerFiles()) as unknown as Files;
    const added = tokenizerJson.added_tokens;
    expect(added.map((t) => t.id)).toEqual(Array.from({ length: 22 }, (_, i) => 151643 + i));
    expect(added.map((t) => t.content)).not.toContain('<think>');
    expect(added.find((t) => t.id === 151645)).toMatchObject({ content: '<|im_end|>', special: true });
    expect(Object.keys(tokenizerJson.model.vocab)).toHaveLength(151643);
    expect(Object.values(tokenizerJson.model.vocab).reduce((m, id) => Math.max(m, id), -1)).toBe(151642);

    expect(Object.keys(tokenizerConfig.added_tokens_decoder).map(Number)).toEqual(added.map((t) => t.id));
    expect(tokenizerConfig.added_tokens_decoder['151644'].content).toBe('<|im_start|>');
    expect(tokenizerConfig).toMatchObject({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>', bos_token: null, model_max_length: 131072 });
    const template = await readFile(new URL('./fixtures/qwen2.5-chat-template.jinja', import.meta.url), 'utf8');
    expect(tokenizerConfig.chat_template).toBe(template);
  });

  it('gives each caller its own copy', async () => {
    const a = (await qwen25TokenizerFiles()) as unknown as Files;
    a.tokenizerJson.added_tokens.length = 0;
    const b = (await qwen25TokenizerFiles()) as unknown as Files;
    expect(b.tokenizerJson.added_tokens).toHaveLength(22);
  });
});
