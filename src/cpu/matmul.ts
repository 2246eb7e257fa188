// Matrix multiplication, the oracle twin of shaders/matmul-*.wgsl. Accumulates in f64 (JS numbers),
// rounds each output to f32 once.
import { rmsnorm } from './norm';
import { swiglu, addInto } from './activations';

/** y[rows, N] = x[rows, K] · wᵀ (+ bias[N]), with w row-major [N, K] (the HF [out, in] layout). */
export function matmul(x: Float32Array, w: Float32Array, rows: number, K: number, N: number, bias?: Float32Array): Float32Array {
  if (x.length < rows * K) throw new Error(`matmul: x has ${x.length} values, needs ${rows * K}`);
  if (w.length !== N * K) throw new Error(`matmul: w has ${w.length} values, needs ${N * K}`);
  if (bias && bias.length !== N) throw new Error(`matmul: bias has ${bias.length} values, needs ${N}`);
  const y = new Float32Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let acc = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) acc += x[r * K + k] * w[n * K + k];
      y[r * N + n] = acc;
    }
  }
  return y;
}

export interface FusedMatmulOptions {
  bias?: Float32Array;
  /** RMS-normalize each x row first (gain 1: the kernel's gains are folded into w) */
  normEps?: number;
  /** the norm's gain [K] when it is not folded into w (the LM head's final norm) */
  gain?: Float32Array;
  /** w's rows are interleaved gate/up pairs: the output is SiLU(gate) * up, [rows, N/2] */
  swiglu?: boolean;
  /** add the result into these rows (the residual stream), [rows, N] */
  residual?: Float32Array;
}

/** The oracle twin of the fused matmul kernel (src/gpu/kernels/matmul.ts): its prologue and epilogues. */
export function matmulFused(x: Float32Array, w: Float32Array, rows: number, K: number, N: number, o: FusedMatmulOptions = {}): Float32Array {
  const xs = x.subarray(0, rows * K);
  const xin = o.normEps !== undefined ? rmsnorm(xs, o.gain ?? new Float32Array(K).fill(1), rows, K, o.normEps) : xs;
  const acc = matmul(xin, w, rows, K, N, o.bias);
  if (o.swiglu) {
    const F = N / 2;
    const gate = new Float32Array(rows * F);
    const up = new Float32Array(rows * F);
    for (let i = 0; i < rows * F; i++) {
      gate[i] = acc[2 * i];
      up[i] = acc[2 * i + 1];
    }
    return swiglu(gate, up);
  }
  return o.residual ? addInto(o.residual.slice(0, rows * N), acc) : acc;
}
