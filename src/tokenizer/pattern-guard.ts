// Regular expressions from a repository's tokenizer.json (the normalizer's and pre-tokenizer's `Split` and
// `Replace` patterns) run on every prompt; a hostile one could backtrack for hours and freeze the worker.
// Before the tokenizer is built, every pattern is checked: it must be short and must not repeat a group
// that itself repeats (`(a+)+`, `(x*)*`, `((ab)+c){2,}`), the classic shape of catastrophic backtracking.
// Real tokenizers (Qwen2's pre-tokenizer among them) pass.

/** The longest pattern accepted (Qwen2's is about 100 characters). */
export const MAX_PATTERN_CHARS = 2000;

/** Where a pattern string sits: `{ "pattern": { "Regex": "..." } }` on normalizers and pre-tokenizers. */
export function collectPatterns(node: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 32 || typeof node !== 'object' || node === null) return out;
  if (Array.isArray(node)) {
    for (const x of node) collectPatterns(x, out, depth + 1);
    return out;
  }
  const o = node as Record<string, unknown>;
  const p = o.pattern;
  if (typeof p === 'object' && p !== null && typeof (p as Record<string, unknown>).Regex === 'string') out.push((p as Record<string, string>).Regex);
  for (const key of ['normalizers', 'pretokenizers', 'normalizer', 'pre_tokenizer']) if (key in o) collectPatterns(o[key], out, depth + 1);
  return out;
}

/** Reads a quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`); returns its end and whether it repeats unboundedly or more than once. */
function quantifierAt(p: string, i: number): { end: number; repeats: boolean } | null {
  const c = p[i];
  if (c === '*' || c === '+') return { end: i + 1, repeats: true };
  if (c === '?') return { end: i + 1, repeats: false };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
    if (!m) return null;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    return { end: i + m[0].length, repeats: max > 1 };
  }
  return null;
}

/** Why the pattern is refused, or null when it is acceptable. */
export function patternProblem(p: string): string | null {
  if (p.length > MAX_PATTERN_CHARS) return `a pattern of ${p.length} characters (limit ${MAX_PATTERN_CHARS})`;
  // Per open group: does its content repeat anything?
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      continue;
    }
    if (c === ')') {
      const innerRepeats = stack.pop() ?? false;
      const q = quantifierAt(p, i + 1);
      if (q?.repeats && innerRepeats) return `a repeated group that itself repeats, at character ${i + 1} of ${JSON.stringify(p.slice(0, 80))}`;
      if (stack.length > 0 && (innerRepeats || q?.repeats)) stack[stack.length - 1] = true;
      continue;
    }
    const q = quantifierAt(p, i);
    if (q?.repeats && stack.length > 0) stack[stack.length - 1] = true;
  }
  return null;
}
