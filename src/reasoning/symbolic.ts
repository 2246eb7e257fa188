// The symbolic stage of answer equivalence (docs/answers.md, "Symbolic comparison"): both answers are
// parsed from LaTeX by @cortex-js/compute-engine and compared by kind: relations and intervals, sets,
// tuples and matrices element by element, numbers to 15 significant digits, expressions with variables by
// value at fixed sample points. Loaded on demand (equivalence.ts imports it dynamically): the library is
// large and the first page does not need it.
import { ComputeEngine } from '@cortex-js/compute-engine';

/**
 * The part of the library's expression interface used here. Function expressions have `ops`, symbols have
 * `symbol`; other kinds leave them undefined.
 */
interface Expr {
  readonly operator: string;
  readonly ops?: ReadonlyArray<Expr>;
  readonly nops: number;
  readonly symbol?: string;
  readonly unknowns: ReadonlyArray<string>;
  readonly isInfinity: boolean | undefined;
  readonly re: number;
  readonly im: number;
  readonly json: unknown;
  isSame(other: Expr): boolean;
  add(other: Expr): Expr;
  sub(other: Expr): Expr;
  neg(): Expr;
  N(): Expr;
  subs(values: Record<string, number>): Expr;
}

/** Wall-clock limit for one comparison; a breach counts as "not equal". */
export const COMPARE_TIME_LIMIT_MS = 250;
/** Answers longer than this (after normalization) are not parsed. */
export const MAX_PARSE_CHARS = 400;
/** Expressions with more nodes than this are not compared symbolically. */
const MAX_NODES = 300;
/** Collections larger than this are not matched element by element. */
const MAX_ELEMENTS = 64;
/** Relative tolerance of numeric equality: 15 significant digits. */
const NUMERIC_TOLERANCE = 5e-15;
/** Relative tolerance when expressions with variables are compared at sample points. */
const SAMPLE_TOLERANCE = 1e-13;
/** Values given to the variables of an expression, one tuple per sample point (irrational-looking, distinct). */
const SAMPLE_POINTS = [0.7318, 1.4142 + 0.3, -0.6131, 2.2361, 0.3819];

const SETS = new Set(['Set']);
const SEQUENCES = new Set(['Tuple', 'List', 'Sequence', 'Delimiter', 'Pair', 'Triple']);
const INEQUALITIES = new Set(['Less', 'LessEqual', 'Greater', 'GreaterEqual']);

interface Bounds {
  lo: Expr | null; // null: -infinity
  loOpen: boolean;
  hi: Expr | null; // null: +infinity
  hiOpen: boolean;
}

function nodeCount(e: Expr, limit: number): number {
  let n = 1;
  for (const op of e.ops ?? []) {
    n += nodeCount(op, limit - n);
    if (n > limit) break;
  }
  return n;
}

function hasError(e: Expr): boolean {
  return e.operator === 'Error' || (e.ops ?? []).some(hasError);
}

export class SymbolicComparer {
  private readonly ce = new ComputeEngine();

  private parse(latex: string): Expr {
    return this.ce.parse(latex) as unknown as Expr;
  }

  /** True when the two normalized answers denote the same mathematical object. */
  equal(a: string, b: string): boolean {
    if (a.length > MAX_PARSE_CHARS || b.length > MAX_PARSE_CHARS) return false;
    try {
      return this.ce.withTimeLimit(COMPARE_TIME_LIMIT_MS, () => {
        const x = this.parse(a);
        const y = this.parse(b);
        const bare = isBareList(a, x) && isBareList(b, y);
        if (hasError(x) || hasError(y)) return false;
        if (nodeCount(x, MAX_NODES) > MAX_NODES || nodeCount(y, MAX_NODES) > MAX_NODES) return false;
        // Two lists written without brackets (`x = 1, 2` solutions) are sets: their order carries no meaning.
        if (bare) return this.sameElements(x.ops ?? [], y.ops ?? [], true);
        return this.same(x, y);
      });
    } catch {
      return false; // a parse or evaluation that ran out of time or failed
    }
  }

  private same(a: Expr, b: Expr): boolean {
    if (a.isSame(b)) return true;
    // An equation on one side only: compare its last side (`x = 11` against `11`).
    const aEq = a.operator === 'Equal';
    const bEq = b.operator === 'Equal';
    if (aEq !== bEq) return aEq ? this.same(a.ops![a.ops!.length - 1], b) : this.same(a, b.ops![b.ops!.length - 1]);
    if (aEq && bEq) return this.sameEquation(a, b);
    // ± gives both values.
    const pa = this.plusMinus(a);
    const pb = this.plusMinus(b);
    if (pa || pb) return this.same(pa ?? a, pb ?? b);
    // Intervals, inequalities and memberships as intervals.
    const ia = this.intervals(a);
    const ib = this.intervals(b);
    if (ia && ib) return this.sameIntervals(ia, ib);
    if (ia || ib) {
      // An open interval `(1, 2)` is also a pair.
      const [iv, other] = ia ? [ia, b] : [ib!, a];
      if (iv.length === 1 && iv[0].loOpen && iv[0].hiOpen && SEQUENCES.has(other.operator) && other.nops === 2) {
        const [lo, hi] = other.ops!;
        const end = (x: Expr | null, y: Expr, sign: string): boolean => (x === null ? y.isInfinity === true && y.json === sign : this.same(x, y));
        return end(iv[0].lo, lo, 'NegativeInfinity') && end(iv[0].hi, hi, 'PositiveInfinity');
      }
      return false;
    }
    if (INEQUALITIES.has(a.operator) || INEQUALITIES.has(b.operator)) return this.sameInequality(a, b);
    const aColl = SETS.has(a.operator) || SEQUENCES.has(a.operator);
    const bColl = SETS.has(b.operator) || SEQUENCES.has(b.operator);
    if (aColl || bColl) {
      if (!aColl || !bColl) return false;
      const unordered = SETS.has(a.operator) || SETS.has(b.operator);
      return this.sameElements(a.ops ?? [], b.ops ?? [], unordered);
    }
    if (a.operator === 'Matrix' || b.operator === 'Matrix') return this.sameMatrix(a, b);
    return this.sameValue(a, b);
  }

  private sameElements(a: ReadonlyArray<Expr>, b: ReadonlyArray<Expr>, unordered: boolean): boolean {
    if (a.length !== b.length || a.length > MAX_ELEMENTS) return false;
    if (!unordered) return a.every((x, i) => this.same(x, b[i]));
    const used = new Array<boolean>(b.length).fill(false);
    return a.every((x) => {
      const j = b.findIndex((y, k) => !used[k] && this.same(x, y));
      if (j < 0) return false;
      used[j] = true;
      return true;
    });
  }

  private sameMatrix(a: Expr, b: Expr): boolean {
    if (a.operator !== 'Matrix' || b.operator !== 'Matrix') return false;
    const rows = (m: Expr): ReadonlyArray<Expr> => m.ops![0].ops ?? [];
    const ra = rows(a);
    const rb = rows(b);
    return ra.length === rb.length && ra.every((r, i) => this.sameElements(r.ops ?? [r], rb[i].ops ?? [rb[i]], false));
  }

  /** Two equations: both assign the same variable the same value, or their sides differ by the same (or the opposite) amount. */
  private sameEquation(a: Expr, b: Expr): boolean {
    const [al, ar] = [a.ops![0], a.ops![a.ops!.length - 1]];
    const [bl, br] = [b.ops![0], b.ops![b.ops!.length - 1]];
    if (al.symbol && bl.symbol && al.symbol === bl.symbol) return this.same(ar, br);
    const da = al.sub(ar);
    const db = bl.sub(br);
    return this.sameValue(da, db) || this.sameValue(da, db.neg());
  }

  private sameInequality(a: Expr, b: Expr): boolean {
    const flip: Record<string, string> = { Less: 'Greater', LessEqual: 'GreaterEqual', Greater: 'Less', GreaterEqual: 'LessEqual' };
    if (!INEQUALITIES.has(a.operator) || !INEQUALITIES.has(b.operator)) return false;
    const da = a.ops![0].sub(a.ops![1]);
    const db = b.ops![0].sub(b.ops![1]);
    if (a.operator === b.operator && this.sameValue(da, db)) return true;
    return flip[a.operator] === b.operator && this.sameValue(da, db.neg());
  }

  /** `a \pm b` as the set of its two values. */
  private plusMinus(e: Expr): Expr | null {
    if ((e.operator !== 'Measurement' && e.operator !== 'PlusMinus') || e.nops !== 2) return null;
    const [x, d] = e.ops!;
    return this.ce.box(['Set', x.add(d).json, x.sub(d).json] as Parameters<ComputeEngine['box']>[0]) as unknown as Expr;
  }

  /** The expression as a union of intervals (interval, inequality in one variable, `x \in S`), else null. */
  private intervals(e: Expr): Bounds[] | null {
    const ops = e.ops ?? [];
    switch (e.operator) {
      case 'Interval': {
        const end = (x: Expr): [Expr | null, boolean] => {
          const open = x.operator === 'Open';
          const v = open ? x.ops![0] : x;
          return [v.isInfinity === true ? null : v, open];
        };
        const [lo, loOpen] = end(ops[0]);
        const [hi, hiOpen] = end(ops[1]);
        return [{ lo, loOpen: loOpen || lo === null, hi, hiOpen: hiOpen || hi === null }];
      }
      case 'Union': {
        const parts = ops.map((o) => this.intervals(o));
        return parts.every((p) => p !== null) ? parts.flat() : null;
      }
      case 'Or': {
        const parts = ops.map((o) => this.intervals(o));
        return parts.every((p) => p !== null) ? parts.flat() : null;
      }
      case 'Element':
        return ops[0]?.symbol ? this.intervals(ops[1]) : null;
      case 'RealNumbers':
        return [{ lo: null, loOpen: true, hi: null, hiOpen: true }];
      case 'And': {
        const parts = ops.map((o) => this.intervals(o));
        if (parts.length !== 2 || parts.some((p) => p === null || p.length !== 1)) return null;
        const [p, q] = [parts[0]![0], parts[1]![0]];
        const lower = p.lo ? p : q;
        const upper = p.hi ? p : q;
        if ((p.lo && q.lo) || (p.hi && q.hi)) return null;
        return [{ lo: lower.lo, loOpen: lower.loOpen, hi: upper.hi, hiOpen: upper.hiOpen }];
      }
    }
    if (e.symbol === 'RealNumbers') return [{ lo: null, loOpen: true, hi: null, hiOpen: true }];
    if (!INEQUALITIES.has(e.operator) || ops.length !== 2) return null;
    const [l, r] = ops;
    const strict = e.operator === 'Less' || e.operator === 'Greater';
    const lessThan = e.operator === 'Less' || e.operator === 'LessEqual';
    // Only `variable OP constant` or `constant OP variable`.
    if (l.symbol && l.unknowns.length === 1 && r.unknowns.length === 0) {
      return [lessThan ? { lo: null, loOpen: true, hi: r, hiOpen: strict } : { lo: r, loOpen: strict, hi: null, hiOpen: true }];
    }
    if (r.symbol && r.unknowns.length === 1 && l.unknowns.length === 0) {
      return [lessThan ? { lo: l, loOpen: strict, hi: null, hiOpen: true } : { lo: null, loOpen: true, hi: l, hiOpen: strict }];
    }
    return null;
  }

  private sameIntervals(a: Bounds[], b: Bounds[]): boolean {
    if (a.length !== b.length) return false;
    const end = (x: Expr | null, y: Expr | null): boolean => (x === null) === (y === null) && (x === null || this.sameValue(x, y!));
    const used = new Array<boolean>(b.length).fill(false);
    return a.every((p) => {
      const j = b.findIndex((q, k) => !used[k] && p.loOpen === q.loOpen && p.hiOpen === q.hiOpen && end(p.lo, q.lo) && end(p.hi, q.hi));
      if (j < 0) return false;
      used[j] = true;
      return true;
    });
  }

  /** Scalars: numbers to 15 significant digits; expressions in the same variables by value at sample points. */
  private sameValue(a: Expr, b: Expr): boolean {
    if (a.isSame(b)) return true;
    const va = [...new Set([...a.unknowns, ...b.unknowns])].sort();
    if (va.length === 0) return this.sameNumber(a, b, NUMERIC_TOLERANCE);
    let compared = 0;
    for (let p = 0; p < SAMPLE_POINTS.length; p++) {
      const values: Record<string, number> = {};
      va.forEach((v, i) => (values[v] = SAMPLE_POINTS[(p + i) % SAMPLE_POINTS.length] + i * 0.1173));
      const x = this.numberOf(a.subs(values));
      const y = this.numberOf(b.subs(values));
      if (x === null || y === null) {
        if ((x === null) !== (y === null)) return false;
        continue;
      }
      if (!close(x, y, SAMPLE_TOLERANCE)) return false;
      compared++;
    }
    return compared >= 2;
  }

  private sameNumber(a: Expr, b: Expr, tol: number): boolean {
    const x = this.numberOf(a);
    const y = this.numberOf(b);
    if (x === null || y === null) {
      // Infinities compare by sign; an overflowing value is not a number to compare.
      const inf = (e: Expr): string | undefined => (e.symbol === 'PositiveInfinity' || e.symbol === 'NegativeInfinity' ? e.symbol : undefined);
      return inf(a) !== undefined && inf(a) === inf(b);
    }
    return close(x, y, tol);
  }

  /** The finite complex value of an expression without variables, or null. */
  private numberOf(e: Expr): [number, number] | null {
    const v = e.N();
    const re = v.re;
    const im = v.im;
    if (typeof re !== 'number' || typeof im !== 'number' || !Number.isFinite(re) || !Number.isFinite(im)) return null;
    return [re, im];
  }
}

/** A top-level list written without brackets (`1, 2`). */
function isBareList(latex: string, e: Expr): boolean {
  return e.operator === 'Tuple' && !/^\s*(?:[([]|\\[{([]|\\langle)/.test(latex);
}

function close(x: [number, number], y: [number, number], tol: number): boolean {
  const scale = Math.max(Math.hypot(x[0], x[1]), Math.hypot(y[0], y[1]));
  return Math.hypot(x[0] - y[0], x[1] - y[1]) <= tol * scale;
}
