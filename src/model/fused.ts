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


/**
 * The RoPE-quad row order of a stacked q/k/v matrix [(nHeads + 2 * nKvHeads) * headDim, cols] (or its bias, cols
 * = 1), for the qkv matmul's RoPE epilogue (shaders/rope-epilogue.wgsl). Within each q and k head (headDim % 4 ==
 * 0, half = headDim / 2), rows 4j .. 4j + 3 become the head's rows 2j, 2j + half, 2j + 1, 2j + 1 + half: two
 * rotation pairs whose outputs are adjacent elements. The v rows keep their order. Returns a new array.
 */
export function ropeQuadRows(w: Float32Array, nHeads: number, nKvHeads: number, headDim: number, cols: number): Float32Array {
  if (headDim % 4 !== 0) throw new Error(`ropeQuadRows: headDim ${headDim} is not a multiple of 4`);
  const out = w.slice();
  const half = headDim / 2;
  for (let h = 0; h < nHeads + nKvHeads; h++) {
    const base = h * headDim;
    for (let j = 0; j < headDim / 4; j++) {
      const src = [2 * j, 2 * j + half, 2 * j + 1, 2 * j + 1 + half];
      for (let t = 0; t < 4; t++) out.set(w.subarray((base + src[t]) * cols, (base + src[t] + 1) * cols), (base + 4 * j + t) * cols);
    }
  }
  return out;
}
