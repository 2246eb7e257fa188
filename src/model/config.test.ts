import { describe, expect, it } from 'vitest';
import { BoxedError } from '../protocol/errors';
import { parseConfig, parseGenerationConfig, withGenerationEos } from './config';

// config.json of Qwen2.5-1.5B-Instruct (the 1.5B reasoning model's base shapes)
const QWEN_1_5B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 1536,
  initializer_range: 0.02,
  intermediate_size: 8960,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 12,
  num_hidden_layers: 28,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const QWEN_7B = {
  ...QWEN_1_5B,
  hidden_size: 3584,
  intermediate_size: 18944,
  num_attention_heads: 28,
  num_key_value_heads: 4,
  vocab_size: 152064,
  tie_word_embeddings: false,
  max_position_embeddings: 131072,
  eos_token_id: [151645, 151643],
};

function formatError(json: unknown): BoxedError {
  try {
    parseConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(BoxedError);
    const b = e as BoxedError;
    expect(b.name).toBe('ModelFormat');
    expect(b.file).toBe('config.json');
    return b;
  }
  throw new Error('parseConfig accepted a bad config');
}

describe('parseConfig', () => {
  it('reads the 1.5B config', () => {
    expect(parseConfig(QWEN_1_5B)).toEqual({
      architecture: 'Qwen2ForCausalLM',
      dim: 1536,
      ffnDim: 8960,
      nLayers: 28,
      nHeads: 12,
      nKvHeads: 2,
      headDim: 128,
      kvDim: 256,
      vocab: 151936,
      normEps: 1e-6,
      ropeTheta: 1e6,
      maxPositions: 32768,
      tiedEmbeddings: true,
      torchDtype: 'bfloat16',
      bosTokenId: 151643,
      eosTokenIds: [151645],
    });
  });

  it('reads the 7B config (untied, other shapes, eos list)', () => {
    const c = parseConfig(QWEN_7B);
    expect(c).toMatchObject({ dim: 3584, ffnDim: 18944, nLayers: 28, nHeads: 28, nKvHeads: 4, headDim: 128, kvDim: 512, vocab: 152064 });
    expect(c.tiedEmbeddings).toBe(false);
    expect(c.maxPositions).toBe(131072);
    expect(c.eosTokenIds).toEqual([151645, 151643]);
  });

  it('takes an explicit head_dim, defaults kv heads and tie, accepts rope_type default and rope_parameters', () => {
    const { num_key_value_heads: _kv, tie_word_embeddings: _t, rope_theta: _r, ...rest } = QWEN_1_5B;
    const c = parseConfig({ ...rest, head_dim: 64, rope_parameters: { rope_type: 'default', rope_theta: 5e5 } });
    expect(c.headDim).toBe(64);
    expect(c.nKvHeads).toBe(12);
    expect(c.kvDim).toBe(12 * 64);
    expect(c.tiedEmbeddings).toBe(false);
    expect(c.ropeTheta).toBe(5e5);
    expect(parseConfig({ ...QWEN_1_5B, rope_scaling: { type: 'default' } }).ropeTheta).toBe(1e6);
    expect(parseConfig({ ...QWEN_1_5B, bos_token_id: null, eos_token_id: undefined })).toMatchObject({ bosTokenId: null, eosTokenIds: [] });
    // transformers' Qwen2Config defaults for fields a config may leave out
    const { rms_norm_eps: _e, max_position_embeddings: _m, ...bare } = QWEN_1_5B;
    expect(parseConfig(bare)).toMatchObject({ normEps: 1e-6, maxPositions: 32768 });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['hidden_size 1e9', { hidden_size: 1e9 }, /hidden_size/],
    ['hidden_size NaN', { hidden_size: NaN }, /hidden_size/],
    ['hidden_size fractional', { hidden_size: 1536.5 }, /hidden_size/],
    ['hidden_size as string', { hidden_size: '1536' }, /hidden_size/],
    ['hidden_size missing', { hidden_size: undefined }, /hidden_size is missing/],
    ['intermediate_size 0', { intermediate_size: 0 }, /intermediate_size/],
    ['num_hidden_layers negative', { num_hidden_layers: -28 }, /num_hidden_layers/],
    ['num_hidden_layers huge', { num_hidden_layers: 100000 }, /num_hidden_layers/],
    ['heads not dividing hidden', { num_attention_heads: 11 }, /num_attention_heads/],
    ['kv heads not dividing heads', { num_key_value_heads: 5 }, /num_key_value_heads/],
    ['kv heads > heads', { num_key_value_heads: 24 }, /num_key_value_heads/],
    ['odd head_dim', { head_dim: 127 }, /head_dim/],
    ['head_dim absurd', { head_dim: 1e6 }, /head_dim/],
    ['vocab_size absurd', { vocab_size: 1e12 }, /vocab_size/],
    ['eps 0', { rms_norm_eps: 0 }, /rms_norm_eps/],
    ['eps negative', { rms_norm_eps: -1e-6 }, /rms_norm_eps/],
    ['eps NaN', { rms_norm_eps: NaN }, /rms_norm_eps/],
    ['rope_theta Infinity', { rope_theta: Infinity }, /rope_theta/],
    ['rope_theta 0', { rope_theta: 0 }, /rope_theta/],
    ['max_position_embeddings 0', { max_position_embeddings: 0 }, /max_position_embeddings/],
    ['rope_scaling yarn', { rope_scaling: { type: 'yarn', factor: 4 } }, /rope_scaling.*yarn/],
    ['rope_scaling dynamic (rope_type)', { rope_scaling: { rope_type: 'dynamic', factor: 2 } }, /rope_scaling.*dynamic/],
    ['sliding window', { use_sliding_window: true }, /use_sliding_window/],
    ['other architecture', { architectures: ['LlamaForCausalLM'] }, /architectures/],
    ['other model_type', { model_type: 'llama' }, /model_type/],
    ['hidden_act gelu', { hidden_act: 'gelu' }, /hidden_act/],
    ['torch_dtype int8', { torch_dtype: 'int8' }, /torch_dtype/],
    ['tie_word_embeddings string', { tie_word_embeddings: 'yes' }, /tie_word_embeddings/],
    ['eos out of vocab', { eos_token_id: 999999 }, /eos_token_id/],
    ['eos list with a string', { eos_token_id: [151645, 'x'] }, /eos_token_id/],
    ['bos negative', { bos_token_id: -1 }, /bos_token_id/],
  ];
  it.each(bad)('rejects %s with ModelFormat naming the field', (_label, patch, field) => {
    expect(formatError({ ...QWEN_1_5B, ...patch }).message).toMatch(field);
  });

  it('rejects a non-object', () => {
    for (const j of [null, [], 'config', 3]) expect(formatError(j).message).toMatch(/JSON object/);
  });

  it('names the file it was given', () => {
    try {
      parseConfig({ ...QWEN_1_5B, hidden_size: 0 }, 'sub/config.json');
      throw new Error('accepted');
    } catch (e) {
      expect((e as BoxedError).file).toBe('sub/config.json');
      expect((e as BoxedError).message).toMatch(/^sub\/config\.json: hidden_size/);
    }
  });
});

describe('parseGenerationConfig', () => {
  it('reads the model generation config and merges eos ids', () => {
    const g = parseGenerationConfig({ bos_token_id: 151643, eos_token_id: [151645, 151643], temperature: 0.6, top_p: 0.95, top_k: 20, do_sample: true });
    expect(g).toEqual({ eosTokenIds: [151645, 151643], temperature: 0.6, topP: 0.95, topK: 20 });
    const cfg = withGenerationEos(parseConfig(QWEN_1_5B), g);
    expect(cfg.eosTokenIds).toEqual([151645, 151643]);
    expect(parseGenerationConfig({ top_k: 0 })).toEqual({ eosTokenIds: [] });
  });

  it.each([
    [{ temperature: -1 }, /temperature/],
    [{ temperature: NaN }, /temperature/],
    [{ top_p: 1.5 }, /top_p/],
    [{ top_p: 0 }, /top_p/],
    [{ top_k: 2.5 }, /top_k/],
    [{ eos_token_id: 'x' }, /eos_token_id/],
  ])('rejects %o', (json, field) => {
    expect(() => parseGenerationConfig(json)).toThrow(field);
    try {
      parseGenerationConfig(json);
    } catch (e) {
      expect((e as BoxedError).name).toBe('ModelFormat');
      expect((e as BoxedError).file).toBe('generation_config.json');
    }
  });
});
