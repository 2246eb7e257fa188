// Elementwise activations and adds, the oracle twins of the matmul epilogues. Plain f32 arrays,
// computed in f64 and rounded once.

/** silu(a) = a * sigmoid(a) = a / (1 + exp(-a)) */
export function silu(a: number): number {
  return a / (1 + Math.exp(-a));
}

/** h[i] = silu(gate[i]) * up[i] */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  if (gate.length !== up.length) throw new Error(`swiglu: gate ${gate.length} != up ${up.length}`);
  const h = new Float32Array(gate.length);
  for (let i = 0; i < h.length; i++) h[i] = silu(gate[i]) * up[i];
  return h;
}

/** y += x, in place; returns y. */
export function addInto(y: Float32Array, x: Float32Array): Float32Array {
  if (y.length !== x.length) throw new Error(`addInto: ${y.length} != ${x.length}`);
  for (let i = 0; i < y.length; i++) y[i] += x[i];
  return y;
}
