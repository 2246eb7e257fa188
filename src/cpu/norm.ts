// RMSNorm, the oracle twin of shaders/rmsnorm.wgsl.

/** y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) * g, for rows × dim (f64 accumulation). */
export function rmsnorm(x: Float32Array, g: Float32Array, rows: number, dim: number, eps: number, y = new Float32Array(rows * dim)): Float32Array {
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] * x[r * dim + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * inv * g[i];
  }
  return y;
}
