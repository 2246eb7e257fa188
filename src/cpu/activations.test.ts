import { describe, it, expect } from 'vitest';
import { silu, swiglu, addInto } from './activations';
import { matmul } from './matmul';

describe('CPU twins', () => {
  it('silu matches a / (1 + e^-a) at known points and saturates without NaN', () => {
    expect(silu(0)).toBe(0);
    expect(silu(1)).toBeCloseTo(0.7310585786, 9);
    expect(silu(-2)).toBeCloseTo(-0.2384058440, 9);
    expect(silu(-1000)).toBeCloseTo(0, 12);
    expect(silu(1000)).toBe(1000);
  });

  it('swiglu and addInto work elementwise', () => {
    const h = swiglu(Float32Array.of(1, -2, 0), Float32Array.of(2, 3, 5));
    expect(Array.from(h)).toEqual([Math.fround(silu(1) * 2), Math.fround(silu(-2) * 3), 0]);
    const y = Float32Array.of(1, 2, 3);
    expect(Array.from(addInto(y, Float32Array.of(0.5, -2, 1)))).toEqual([1.5, 0, 4]);
    expect(() => swiglu(new Float32Array(2), new Float32Array(3))).toThrow();
  });

  it('matmul is x · wᵀ + bias for a hand-checked case', () => {
    // x [2, 3], w [2, 3] (out, in)
    const x = Float32Array.of(1, 2, 3, -1, 0, 2);
    const w = Float32Array.of(1, 0, -1, 2, 1, 0.5);
    const y = matmul(x, w, 2, 3, 2, Float32Array.of(10, 0));
    expect(Array.from(y)).toEqual([1 - 3 + 10, 2 + 2 + 1.5, -1 - 2 + 10, -2 + 1]);
  });
});
