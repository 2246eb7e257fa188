// The Qwen2 forward pass for one step over a batch of rows, as a sequence of ops.
// A row is one token of one sequence: prefill feeds a chunk of one prompt (positions p..p+n-1),
// batched decode feeds one token for each of N sequences. Which rows, positions and KV-cache slots
// a step covers is bound into the ops before forward() runs; forward() only orders the work.
// The ops are passed in (GPU: src/gpu/model.ts, CPU oracle: src/cpu/model.ts); this file imports neither.
import type { ModelConfig } from './config';

export interface StepOps {
  /** x[rows, dim] = embedding rows of the step's tokens */
  embed(): void;
  /** q, k, v = rmsnorm(x) · W{q,k,v}ᵀ + b{q,k,v} */
  normQkv(layer: number): void;
  /**
   * rotate q and k by each row's position (rotate-half RoPE); write k, v into the row's cache slot. An
   * implementation may do this in normQkv's epilogue and record nothing here (the GPU model does).
   */
  ropeAppendKv(layer: number): void;
  /** attn = softmax(q·Kᵀ / √headDim, causal over the row's own sequence) · V, grouped-query */
  attend(layer: number): void;
  /** x += attn · Woᵀ */
  outProj(layer: number): void;
  /** h = silu(rmsnorm(x) · Wgateᵀ) ⊙ (rmsnorm(x) · Wupᵀ) */
  normGateUp(layer: number): void;
  /** x += h · Wdownᵀ */
  down(layer: number): void;
  /** logits = rmsnorm(x) · Wheadᵀ for the rows that need them (on the GPU one matmul: the norm is its prologue) */
  logits(): void;
}

export function forward(cfg: ModelConfig, ops: StepOps): void {
  // token embeddings into the residual stream
  ops.embed();
  for (let l = 0; l < cfg.nLayers; l++) {
    // attention rmsnorm, then q/k/v projections with bias
    ops.normQkv(l);
    // RoPE on q and k, and append k, v to the KV cache
    ops.ropeAppendKv(l);
    // causal grouped-query attention over the cache
    ops.attend(l);
    // output projection, added into the residual stream
    ops.outProj(l);
    // MLP rmsnorm, gate and up projections, SiLU(gate) * up
    ops.normGateUp(l);
    // down projection, added into the residual stream
    ops.down(l);
  }
  // final rmsnorm and LM head
  ops.logits();
}
