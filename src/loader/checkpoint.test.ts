import { describe, expect, it } from 'vitest';
import { randomNormal } from '../cpu/random';
import { parseConfig } from '../model/config';
import { expectedTensors } from '../model/weights';
import { BoxedError } from '../protocol/errors';
import { decodeToF32, encodeFromF32 } from './dtype';
import { openCheckpoint } from './checkpoint';
import { safetensorsBytes, tensorOf, type TensorToWrite } from './safetensors-write';
import { memoryProvider } from './source';

// A small awkward Qwen2: dim 24, 3 heads of 8, 1 kv head, ffn 37, 2 layers, vocab 53.
const CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 24,
  intermediate_size: 37,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  vocab_size: 53,
  rms_norm_eps: 1e-6,
  rope_theta: 1e6,
  max_position_embeddings: 128,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  bos_token_id: 50,
  eos_token_id: 51,
};
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const TOKENIZER = { version: '1.0', model: { type: 'BPE' } };
const TOKENIZER_CONFIG = { eos_token: '<|im_end|>' };

function tensorsFor(config: Record<string, unknown>, patch: (specs: TensorToWrite[]) => TensorToWrite[] = (s) => s): TensorToWrite[] {
  const cfg = parseConfig(config);
  const specs = expectedTensors(cfg).map((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return tensorOf(s.name, 'BF16', s.shape, decodeToF32(encodeFromF32(randomNormal(n, 100 + i), 'BF16'), 'BF16'));
  });
  return patch(specs);
}

async function folder(config: Record<string, unknown>, tensors: TensorToWrite[], extra: Record<string, Uint8Array> = {}): Promise<Record<string, Uint8Array>> {
  return {
    'config.json': enc(config),
    'tokenizer.json': enc(TOKENIZER),
    'tokenizer_config.json': enc(TOKENIZER_CONFIG),
    'model.safetensors': await safetensorsBytes(tensors),
    ...extra,
  };
}

async function formatError(files: Record<string, Uint8Array>): Promise<BoxedError> {
  try {
    await openCheckpoint(memoryProvider(files));
  } catch (e) {
    expect(e).toBeInstanceOf(BoxedError);
    expect((e as BoxedError).name).toBe('ModelFormat');
    return e as BoxedError;
  }
  throw new Error('openCheckpoint accepted a bad checkpoint');
}

describe('openCheckpoint', () => {
  it('opens a tied single-file checkpoint and reads tensors one at a time', async () => {
    const tensors = tensorsFor(CONFIG);
    const gen = enc({ eos_token_id: [51, 52], temperature: 0.6, top_p: 0.95 });
    const ck = await openCheckpoint(memoryProvider(await folder(CONFIG, tensors, { 'generation_config.json': gen })));
    expect(ck.config.dim).toBe(24);
    expect(ck.config.eosTokenIds).toEqual([51, 52]);
    expect(ck.generation).toEqual({ eosTokenIds: [51, 52], temperature: 0.6, topP: 0.95 });
    expect(ck.tokenizerJson).toEqual(TOKENIZER);
    expect(ck.tokenizerConfig).toEqual(TOKENIZER_CONFIG);
    expect(ck.tensorNames).toEqual(tensors.map((t) => t.name));
    expect(ck.tensorNames).not.toContain('lm_head.weight');
    expect(ck.bytes).toBe(tensors.reduce((s, t) => s + 2 * t.shape.reduce((a, b) => a * b, 1), 0));
    const wk = tensors.find((t) => t.name === 'model.layers.1.self_attn.k_proj.weight')!;
    expect(ck.info(wk.name)).toEqual({ dtype: 'BF16', shape: [8, 24], byteLength: 8 * 24 * 2 });
    expect(Array.from(await ck.read(wk.name))).toEqual(Array.from([...(wk.data() as Iterable<Float32Array>)][0]));
    expect((await ck.readBytes(wk.name)).length).toBe(8 * 24 * 2);
    await expect(ck.read('nope')).rejects.toThrow(/no tensor nope/);
    const embed = await ck.read('model.embed_tokens.weight');
    expect(Array.from(await ck.readRows('model.embed_tokens.weight', 17, 5))).toEqual(Array.from(embed.subarray(17 * 24, 22 * 24)));
    expect((await ck.readRows('model.norm.weight', 3, 2)).length).toBe(2);
    await expect(ck.readRows('model.embed_tokens.weight', 50, 4)).rejects.toThrow(/out of range/);
  });

  it('opens a sharded untied checkpoint, ignoring rotary inv_freq', async () => {
    const config = { ...CONFIG, tie_word_embeddings: false };
    const tensors = tensorsFor(config);
    tensors.push(tensorOf('model.layers.0.self_attn.rotary_emb.inv_freq', 'F32', [4], new Float32Array([1, 0.1, 0.01, 0.001])));
    const half = Math.floor(tensors.length / 2);
    const [s1, s2] = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weightMap = Object.fromEntries(tensors.map((t, i) => [t.name, i < half ? s1 : s2]));
    const files = {
      'config.json': enc(config),
      'tokenizer.json': enc(TOKENIZER),
      'tokenizer_config.json': enc(TOKENIZER_CONFIG),
      'model.safetensors.index.json': enc({ metadata: {}, weight_map: weightMap }),
      [s1]: await safetensorsBytes(tensors.slice(0, half)),
      [s2]: await safetensorsBytes(tensors.slice(half)),
    };
    const ck = await openCheckpoint(memoryProvider(files));
    expect(ck.generation).toBeNull();
    expect(ck.tensorNames.at(-1)).toBe('lm_head.weight');
    expect(ck.tensorNames).not.toContain('model.layers.0.self_attn.rotary_emb.inv_freq');
    const head = tensors.find((t) => t.name === 'lm_head.weight')!;
    expect(Array.from(await ck.read('lm_head.weight'))).toEqual(Array.from([...(head.data() as Iterable<Float32Array>)][0]));
  });

  it('a tied checkpoint may carry lm_head.weight; it is ignored', async () => {
    const tensors = tensorsFor(CONFIG);
    tensors.push(tensorOf('lm_head.weight', 'BF16', [53, 24], new Float32Array(53 * 24)));
    const ck = await openCheckpoint(memoryProvider(await folder(CONFIG, tensors)));
    expect(ck.tensorNames).not.toContain('lm_head.weight');
  });

  it('missing tensor names the tensor', async () => {
    const e = await formatError(await folder(CONFIG, tensorsFor(CONFIG, (s) => s.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'))));
    expect(e.message).toMatch(/tensor model.layers.1.mlp.up_proj.weight is missing/);
    expect(e.file).toBe('model.safetensors');
  });

  it('untied config without lm_head', async () => {
    const config = { ...CONFIG, tie_word_embeddings: false };
    const e = await formatError(await folder(config, tensorsFor(CONFIG)));
    expect(e.message).toMatch(/lm_head.weight is missing.*tie_word_embeddings/);
  });

  it('wrong shape names tensor, expected and actual', async () => {
    const bad = tensorsFor(CONFIG, (s) =>
      s.map((t) => (t.name === 'model.layers.0.self_attn.v_proj.weight' ? tensorOf(t.name, 'BF16', [24, 8], new Float32Array(192)) : t)),
    );
    const e = await formatError(await folder(CONFIG, bad));
    expect(e.message).toMatch(/model.layers.0.self_attn.v_proj.weight has shape \[24, 8\], expected \[8, 24\]/);
  });

  it('unexpected extra tensor', async () => {
    const tensors = tensorsFor(CONFIG);
    tensors.push(tensorOf('model.layers.2.mlp.up_proj.weight', 'F32', [2], new Float32Array(2)));
    expect((await formatError(await folder(CONFIG, tensors))).message).toMatch(/unexpected tensor model.layers.2.mlp.up_proj.weight/);
  });

  it('missing or malformed side files', async () => {
    const files = await folder(CONFIG, tensorsFor(CONFIG));
    const without = (name: string) => Object.fromEntries(Object.entries(files).filter(([k]) => k !== name));
    expect((await formatError(without('config.json'))).file).toBe('config.json');
    expect((await formatError(without('tokenizer.json'))).file).toBe('tokenizer.json');
    expect((await formatError(without('model.safetensors'))).message).toMatch(/no model.safetensors and no model.safetensors.index.json/);
    expect((await formatError({ ...files, 'tokenizer_config.json': new TextEncoder().encode('{oops') })).message).toMatch(/tokenizer_config.json: not valid JSON/);
    expect((await formatError({ ...files, 'config.json': enc({ ...CONFIG, num_key_value_heads: 2 }) })).message).toMatch(/num_key_value_heads/);
    expect((await formatError({ ...files, 'generation_config.json': enc({ eos_token_id: 99 }) })).file).toBe('generation_config.json');
  });
});
