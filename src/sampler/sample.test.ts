import { describe, it, expect } from 'vitest';
import { sample, argmax } from './sample';
import { Rng } from './rng';

/** logits whose softmax (T = 1) is exactly proportional to `probs` */
function logitsOf(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => Math.log(p));
}

/** How often each id is picked over a uniform grid of n coins. */
function histogram(logits: Float32Array, p: { temperature: number; topK: number; topP: number }, n: number, valid = logits.length): number[] {
  const h = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) h[sample(logits, p, (i + 0.5) / n, valid)]++;
  return h;
}

const T1 = { temperature: 1, topK: 0, topP: 1 };

describe('CPU sampler', () => {
  it('is greedy at temperature <= 0, ties to the lowest id', () => {
    const l = Float32Array.from([0.5, 3, -1, 3, 2]);
    for (const temperature of [0, -1]) {
      for (const coin of [0, 0.5, 0.999]) expect(sample(l, { temperature, topK: 0, topP: 1 }, coin, 5)).toBe(1);
    }
    expect(argmax(l, 5)).toBe(1);
  });

  it('never picks padding ids at or past validVocab', () => {
    const l = Float32Array.from([0, 1, 2, 100, 100]);
    expect(sample(l, { temperature: 0, topK: 0, topP: 1 }, 0.3, 3)).toBe(2);
    const h = histogram(l, T1, 1000, 3);
    expect(h[3] + h[4]).toBe(0);
    expect(h[0] + h[1] + h[2]).toBe(1000);
  });

  it('samples the softmax: a coin grid reproduces the probabilities, walking ids in index order', () => {
    const probs = [0.1, 0.4, 0.2, 0.3];
    const h = histogram(logitsOf(probs), T1, 10000);
    h.forEach((c, i) => expect(Math.abs(c - probs[i] * 10000)).toBeLessThanOrEqual(1));
    // index order: coin 0 -> the first id, coin just under 1 -> the last
    expect(sample(logitsOf(probs), T1, 0, 4)).toBe(0);
    expect(sample(logitsOf(probs), T1, 0.0999, 4)).toBe(0);
    expect(sample(logitsOf(probs), T1, 0.1001, 4)).toBe(1);
    expect(sample(logitsOf(probs), T1, 1 - 2 ** -24, 4)).toBe(3);
  });

  it('applies temperature to the logits', () => {
    const l = logitsOf([0.2, 0.8]);
    // T = 0.5 squares the odds: 0.04 : 0.64
    const h = histogram(l, { temperature: 0.5, topK: 0, topP: 1 }, 6800);
    expect(Math.abs(h[0] - 400)).toBeLessThanOrEqual(1);
  });

  it('top-k keeps the k most probable (ties at the k-th all kept), renormalized', () => {
    const l = logitsOf([0.1, 0.4, 0.2, 0.3]);
    const h = histogram(l, { temperature: 1, topK: 2, topP: 1 }, 7000);
    expect(h).toEqual([0, 4000, 0, 3000]);
    const tied = Float32Array.from([1, 2, 2, 0]);
    const ht = histogram(tied, { temperature: 1, topK: 1, topP: 1 }, 1000);
    expect(ht).toEqual([0, 500, 500, 0]);
  });

  it('topK = 1 equals greedy when the max is unique', () => {
    const rng = new Rng(5);
    const l = Float32Array.from({ length: 999 }, () => rng.normal() * 4);
    const g = argmax(l, 999);
    for (const coin of [0, 0.3, 0.999999]) expect(sample(l, { temperature: 0.7, topK: 1, topP: 1 }, coin, 999)).toBe(g);
  });

  it('top-p keeps the smallest most-probable set reaching the mass, after top-k', () => {
    const l = logitsOf([0.15, 0.5, 0.05, 0.3]);
    expect(histogram(l, { temperature: 1, topK: 0, topP: 0.75 }, 800)).toEqual([0, 500, 0, 300]);
    expect(histogram(l, { temperature: 1, topK: 0, topP: 0.85 }, 950)).toEqual([150, 500, 0, 300]);
    // top-k 2 leaves {0.5, 0.3} -> renormalized {0.625, 0.375}; top-p 0.6 keeps only the first
    expect(histogram(l, { temperature: 1, topK: 2, topP: 0.6 }, 100)).toEqual([0, 100, 0, 0]);
    // a tiny top-p keeps the argmax alone
    expect(histogram(l, { temperature: 1, topK: 0, topP: 1e-9 }, 100)).toEqual([0, 100, 0, 0]);
  });

  it('a seeded Rng reproduces a sequence of samples', () => {
    const rng = new Rng(11);
    const l = Float32Array.from({ length: 5000 }, () => rng.normal() * 2);
    const run = (seed: number) => {
      const coins = new Rng(seed);
      return Array.from({ length: 40 }, () => sample(l, { temperature: 0.8, topK: 0, topP: 0.95 }, coins.next(), 5000));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('survives -inf, NaN, +inf and huge logits', () => {
    const fmax = 3.4028234663852886e38; // the largest finite f32
    const l = Float32Array.from([-Infinity, NaN, fmax, -3e38, 3e38, Infinity]);
    for (const coin of [0, 0.5, 0.9999]) {
      const id = sample(l, { temperature: 0.6, topK: 0, topP: 0.95 }, coin, 6);
      expect([2, 5]).toContain(id);
    }
    // +inf counts as the largest finite value: greedy takes the first of the tied maxima
    expect(sample(l, { temperature: 0, topK: 0, topP: 1 }, 0.5, 6)).toBe(2);
    const allNegInf = new Float32Array(7).fill(-Infinity);
    expect(sample(allNegInf, { temperature: 1, topK: 0, topP: 1 }, 0.5, 7)).toBe(0);
    const someNegInf = Float32Array.from([-Infinity, 1, -Infinity, 1]);
    expect(histogram(someNegInf, T1, 100)).toEqual([0, 50, 0, 50]);
  });
});
