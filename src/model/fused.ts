// The fused weight layout the GPU model uploads: q/k/v stacked into one matrix, gate/up interleaved row by
// row (so one matmul computes both and the SiLU·up epilogue sees each pair together), and RMSNorm gains
// folded into the columns of the matrices that read the normed vector. Pure array code.

/** Stacks row-major matrices (or vectors) with the same row width. */
export function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** [2*rows, cols]: row 2j = a_j, row 2j+1 = b_j. */
export function interleaveRows(a: Float32Array, b: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(2 * rows * cols);
  for (let j = 0; j < rows; j++) {
    out.set(a.subarray(j * cols, (j + 1) * cols), 2 * j * cols);
    out.set(b.subarray(j * cols, (j + 1) * cols), (2 * j + 1) * cols);
  }
  return out;
}

/** W[n, k] * g[k] in place (a norm gain folded into the matrix that reads the normed vector). */
export function foldColumns(w: Float32Array, g: Float32Array, cols: number): Float32Array {
  for (let i = 0; i < w.length; i++) w[i] *= g[i % cols];
  return w;
}

