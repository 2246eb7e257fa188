// Closeness of two float arrays, for oracle tests: reports the worst element so a failure says where.

export interface Closeness {
  maxAbs: number;
  maxRel: number;
  worst: number; // index of the element with the largest abs error
  ok: boolean;
}

/** ok when every |a-b| <= atol + rtol*|b| (b is the reference). NaN anywhere is never ok. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): Closeness {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let ok = true;
  let worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    const d = Math.abs(a - b);
    if (!Number.isFinite(a) || !Number.isFinite(b) || Number.isNaN(d)) {
      return { maxAbs: NaN, maxRel: NaN, worst: i, ok: false };
    }
    const excess = d - (atol + rtol * Math.abs(b));
    if (excess > 0) ok = false;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
    if (d > maxAbs) maxAbs = d;
    const rel = d / Math.max(Math.abs(b), 1e-30);
    if (rel > maxRel) maxRel = rel;
  }
  return { maxAbs, maxRel, worst, ok };
}

/** Throws with the worst element when arrays are not close. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = 'values'): Closeness {
  const c = closeness(actual, expected, atol, rtol);
  if (!c.ok) {
    const i = c.worst;
    throw new Error(`${what} differ: at [${i}] got ${actual[i]} want ${expected[i]} (max abs ${c.maxAbs}, max rel ${c.maxRel}, atol ${atol}, rtol ${rtol})`);
  }
  return c;
}

/** The largest |a[i]| (0 for an empty array): the scale oracle tolerances are given against. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** ‖a − b‖ / ‖b‖ (b is the reference): the relative RMS error the logit checks state. */
export function relRms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != expected ${b.length}`);
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}
