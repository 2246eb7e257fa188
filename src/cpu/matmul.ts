// Matrix multiplication, the oracle twin of shaders/matmul-*.wgsl. Accumulates in f64 (JS numbers),
// rounds each output to f32 once.

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
