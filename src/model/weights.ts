// Qwen2 weights as typed fields, and the Hugging Face tensor names they come from.
// All matrices are [out, in] (row-major, one row per output feature), as HF stores them.
import type { ModelConfig } from './config';

export interface LayerWeights<T> {
  attnNorm: T; // [dim]                 input_layernorm
  wq: T; //       [nHeads*headDim, dim] self_attn.q_proj.weight
  bq: T; //       [nHeads*headDim]      self_attn.q_proj.bias
  wk: T; //       [kvDim, dim]          self_attn.k_proj.weight
  bk: T; //       [kvDim]               self_attn.k_proj.bias
  wv: T; //       [kvDim, dim]          self_attn.v_proj.weight
  bv: T; //       [kvDim]               self_attn.v_proj.bias
  wo: T; //       [dim, nHeads*headDim] self_attn.o_proj.weight (no bias)
  mlpNorm: T; //  [dim]                 post_attention_layernorm
  wGate: T; //    [ffnDim, dim]         mlp.gate_proj.weight
  wUp: T; //      [ffnDim, dim]         mlp.up_proj.weight
  wDown: T; //    [dim, ffnDim]         mlp.down_proj.weight
}

export interface ModelWeights<T> {
  embed: T; //    [vocab, dim]  model.embed_tokens.weight
  layers: LayerWeights<T>[];
  norm: T; //     [dim]         model.norm.weight
  lmHead: T | null; // [vocab, dim] lm_head.weight; null when tied to embed
}

export type LayerField = keyof LayerWeights<unknown>;

const LAYER_NAMES: Record<LayerField, string> = {
  attnNorm: 'input_layernorm.weight',
  wq: 'self_attn.q_proj.weight',
  bq: 'self_attn.q_proj.bias',
  wk: 'self_attn.k_proj.weight',
  bk: 'self_attn.k_proj.bias',
  wv: 'self_attn.v_proj.weight',
  bv: 'self_attn.v_proj.bias',
  wo: 'self_attn.o_proj.weight',
  mlpNorm: 'post_attention_layernorm.weight',
  wGate: 'mlp.gate_proj.weight',
  wUp: 'mlp.up_proj.weight',
  wDown: 'mlp.down_proj.weight',
};

export const LAYER_FIELDS = Object.keys(LAYER_NAMES) as LayerField[];

export function layerTensorName(layer: number, field: LayerField): string {
  return `model.layers.${layer}.${LAYER_NAMES[field]}`;
}

export function layerFieldShape(cfg: ModelConfig, field: LayerField): number[] {
  const qDim = cfg.nHeads * cfg.headDim;
  switch (field) {
    case 'attnNorm':
    case 'mlpNorm':
      return [cfg.dim];
    case 'wq':
      return [qDim, cfg.dim];
    case 'bq':
      return [qDim];
    case 'wk':
    case 'wv':
      return [cfg.kvDim, cfg.dim];
    case 'bk':
    case 'bv':
      return [cfg.kvDim];
    case 'wo':
      return [cfg.dim, qDim];
    case 'wGate':
    case 'wUp':
      return [cfg.ffnDim, cfg.dim];
    case 'wDown':
      return [cfg.dim, cfg.ffnDim];
  }
}

export interface TensorSpec {
  name: string;
  shape: number[];
}

/** Every tensor a Qwen2 checkpoint with this config must contain, with its shape, in load order. */
export function expectedTensors(cfg: ModelConfig): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [cfg.vocab, cfg.dim] }];
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const f of LAYER_FIELDS) specs.push({ name: layerTensorName(l, f), shape: layerFieldShape(cfg, f) });
  }
  specs.push({ name: 'model.norm.weight', shape: [cfg.dim] });
  if (!cfg.tiedEmbeddings) specs.push({ name: 'lm_head.weight', shape: [cfg.vocab, cfg.dim] });
  return specs;
}

/** Builds ModelWeights by looking each tensor up by its HF name. */
export function mapWeights<T>(cfg: ModelConfig, get: (name: string) => T): ModelWeights<T> {
  const layers: LayerWeights<T>[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const lw = {} as LayerWeights<T>;
    for (const f of LAYER_FIELDS) lw[f] = get(layerTensorName(l, f));
    layers.push(lw);
  }
  return {
    embed: get('model.embed_tokens.weight'),
    layers,
    norm: get('model.norm.weight'),
    lmHead: cfg.tiedEmbeddings ? null : get('lm_head.weight'),
  };
}
