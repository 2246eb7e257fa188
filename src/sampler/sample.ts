// The CPU sampler: a pure function (logits, params, coin) -> token id. The GPU sampler
// (shaders/sample.wgsl, src/gpu/kernels/sample.ts) implements the SAME semantics and must return the
// same id for the same logits and coin (up to f32-vs-f64 rounding at an exact boundary).
//
// Semantics, step by step (only ids < validVocab are candidates; the rest are padding rows):
//  0. Logits are cleaned: NaN -> -Infinity, +Infinity -> the largest finite f32 (so no inf - inf).
//  1. Greedy: if temperature <= 0, or every valid logit is -Infinity, return the argmax
//     (ties: the lowest id).
//  2. Weights: m = max valid logit; e[i] = exp((l[i] - m) / T). Probabilities are e / sum(e); because
//     exp is monotone, "p[i] >= t" is the same as "l[i] >= t'" for some logit threshold t', and every
//     threshold below is a LOGIT threshold (exact on CPU and GPU: no rounding in the comparison).
//  3. Top-k (0 or >= validVocab = off): tk = the largest logit value such that at least topK valid
//     ids have l >= tk (the k-th largest logit; ties at it are all kept, so the set may exceed k).
//     With top-k off, tk = -Infinity (every valid id is kept).
//  4. Top-p (topP >= 1 = off): Mk = sum of e over {l >= tk}. tp = the largest logit value t >= tk such
//     that the mass sum{e[i] : l[i] >= t} >= topP * Mk (the smallest set of the most probable tokens,
//     renormalized after top-k, whose mass reaches topP; ties at the boundary are kept).
//     With top-p off, tp = tk. The kept set is K = {i < validVocab : l[i] >= tp}; M = sum of e over K.
//  5. Pick: walk K in INDEX order accumulating e; return the first id whose running sum is strictly
//     greater than coin * M (coin uniform in [0, 1)). If rounding leaves none, the last id in K with
//     e > 0.
// The GPU finds tk and tp on the order-preserving u32 key of the f32 logit (a candidate list, and where
// needed a search that cuts a key window by 15 pivots a pass: shaders/sample.wgsl), which gives exactly
// the thresholds defined above.

export interface SampleParams {
  temperature: number;
  topK: number;
  topP: number;
}

const F32_MAX = 3.4028234663852886e38;

/** The cleaned logit of step 0, as f32 (NaN -> -inf, +inf -> largest finite f32). */
export function cleanLogit(x: number): number {
  if (Number.isNaN(x)) return -Infinity;
  if (x === Infinity) return F32_MAX;
  return x;
}

/** Argmax over ids < validVocab of the cleaned logits; ties go to the lowest id. */
export function argmax(logits: Float32Array, validVocab: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < validVocab; i++) {
    const v = cleanLogit(logits[i]);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** One token id from one row of logits; see the file header for the exact semantics. */
export function sample(logits: Float32Array, p: SampleParams, coin: number, validVocab: number): number {
  const n = Math.min(validVocab, logits.length);
  if (n <= 0) throw new RangeError('sample: validVocab must be positive');
  const best = argmax(logits, n);
  const m = cleanLogit(logits[best]);
  if (!(p.temperature > 0) || m === -Infinity) return best;

  const l = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = cleanLogit(logits[i]);
    e[i] = Math.exp((l[i] - m) / p.temperature);
  }

  // top-k threshold: the k-th largest logit
  let tk = -Infinity;
  if (p.topK > 0 && p.topK < n) {
    const sorted = Float64Array.from(l).sort();
    tk = sorted[n - p.topK];
  }

  // top-p threshold over the top-k set
  let t = tk;
  if (p.topP < 1) {
    const kept: number[] = [];
    let mk = 0;
    for (let i = 0; i < n; i++) {
      if (l[i] >= tk) {
        kept.push(i);
        mk += e[i];
      }
    }
    kept.sort((a, b) => l[b] - l[a]);
    const need = p.topP * mk;
    // walk distinct logit values from the top; the mass of {l >= v} includes all ties at v
    let mass = 0;
    let j = 0;
    while (j < kept.length) {
      const v = l[kept[j]];
      while (j < kept.length && l[kept[j]] === v) mass += e[kept[j++]];
      t = v;
      if (mass >= need) break;
    }
  }

  // pick by walking kept ids in index order
  let total = 0;
  for (let i = 0; i < n; i++) if (l[i] >= t) total += e[i];
  const target = coin * total;
  let run = 0;
  let last = best;
  for (let i = 0; i < n; i++) {
    if (!(l[i] >= t)) continue;
    run += e[i];
    if (e[i] > 0) last = i;
    if (run > target) return i;
  }
  return last;
}
