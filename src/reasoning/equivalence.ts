// Answer normalization and equivalence, for grading and for grouping votes loosely (model-facts.md,
// "Answer equivalence"): strip a percent sign after a number and trailing '.' and '\', normalize LaTeX
// (\dfrac and \tfrac to \frac; drop \left, \right, \!, $, \displaystyle and \text{} wrappers), compare
// with spaces removed; failing that, compare as numbers rounded to 6 decimals.

/** `\text{...}` around plain content (no nested braces), kept as its content. */
const TEXT_WRAPPER = /\\text\{([^{}]*)\}/g;

/** The answer in a canonical form: equal normal forms mean equivalent answers. */
export function normalizeAnswer(answer: string): string {
  let s = answer.trim();
  let prev: string;
  do {
    prev = s;
    s = s.replace(TEXT_WRAPPER, '$1');
  } while (s !== prev);
  s = s
    .replace(/\\[dt]frac/g, '\\frac')
    .replace(/\\left(?![a-zA-Z])/g, '')
    .replace(/\\right(?![a-zA-Z])/g, '')
    .replace(/\\displaystyle(?![a-zA-Z])/g, '')
    .replace(/\\!/g, '')
    .replace(/\$/g, '')
    .replace(/(\d)\s*\\?%/g, '$1')
    .replace(/\s+/g, '');
  // Trailing full stops and backslashes (a sentence's end, a LaTeX line break).
  return s.replace(/[.\\]+$/, '');
}

/** The value of a plain number (1,000 separators allowed), a/b, or \frac{a}{b}; null for anything else. */
export function numericValue(normalized: string): number | null {
  const num = (x: string): number | null => {
    const plain = /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(x.replace(/^[-+]/, '')) ? x.replace(/,/g, '') : x;
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(plain) ? Number(plain) : null;
  };
  const ratio = (a: string, b: string, sign = 1): number | null => {
    const p = num(a);
    const q = num(b);
    return p === null || q === null || q === 0 ? null : (sign * p) / q;
  };
  const frac = /^([-+]?)\\frac\{([^{}]+)\}\{([^{}]+)\}$/.exec(normalized);
  if (frac) return ratio(frac[2], frac[3], frac[1] === '-' ? -1 : 1);
  const slash = /^([^/]+)\/([^/]+)$/.exec(normalized);
  if (slash) return ratio(slash[1], slash[2]);
  return num(normalized);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** True when two extracted answers are the same answer; a missing answer equals nothing. */
export function answersEquivalent(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a == null || b == null) return false;
  const na = normalizeAnswer(a);
  const nb = normalizeAnswer(b);
  if (na === nb) return true;
  const x = numericValue(na);
  const y = numericValue(nb);
  return x !== null && y !== null && round6(x) === round6(y);
}
