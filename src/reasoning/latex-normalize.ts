// LaTeX normalization of extracted answers, in two strengths (docs/answers.md, "Normalization"):
// - `normalizeLatex`: the literal stage of the grader. Boxed contents unwrapped, \left/\right dropped,
//   font commands turned into \text, \dfrac/\tfrac/\cfrac into \frac, dollars, quotes, \! and
//   \displaystyle removed, `{,}` into `,`, "and"/"or" into commas, percent words into \%, "inf" into \infty.
// - `normalizeForParsing`: what the symbolic stage parses. On top of the above: units and trailing
//   \text{...} words after a value and degree signs removed, a leading "." given its 0, malformed \frac/\sqrt given braces,
//   `a/b` of integers written as \frac, and an equation chain cut to its last side.
import { boxedContents } from './boxed';

/** `\left(` ... `\right)` and their `\mleft`/`\mright` variants: the sizing command goes, the delimiter stays. */
const SIZED_DELIMITER = /\\m?(?:left|right)(?=\\[{}|]|[{}|[\]()]|\\(?:[lr]brace|[lr]brack|[lr]?vert|[lr]ceil|[lr]floor|[lr]angle|[lr]group)(?![a-zA-Z]))/g;

/** Rewrites applied in one left-to-right pass, first match wins (the order matters: "percentage" before "percent"). */
const REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\\math(?:rm|it|bf|sf|tt)(?![a-zA-Z])/, '\\text'],
  [/\\text(?:normal|bf|it|rm|sf|tt)(?![a-zA-Z])/, '\\text'],
  [/\\(?:mbox|textup)(?![a-zA-Z])/, '\\text'],
  [/\\[dtc]frac(?![a-zA-Z])/, '\\frac'],
  [/\s\./, ' 0.'],
  [/\{\./, '{0.'],
  [/~=/, '\\approx '],
  [/\s*\{\s*,\s*\}/, ','],
  [/,?\s*\\text\{\s*(?:and|or)\s*\}/, ','],
  [/(?<![a-zA-Z\\]),?\s*(?:and|or)(?![a-zA-Z])/, ','],
  [/(?<!\\)\\\s/, ' '],
  [/,?\\ldots/, ' '],
  [/\s*(?<![a-zA-Z])percentage(?![a-zA-Z])/, '\\%'],
  [/\s*(?<![a-zA-Z])percent(?![a-zA-Z])/, '\\%'],
  [/\s*(?<![a-zA-Z])pct(?![a-zA-Z])/, '\\%'],
  [/infinity/, '\\infty'],
  [/(?<![\\a-zA-Z])inf(?![a-zA-Z])/, '\\infty'],
  [/ sqrt/, '\\sqrt'],
];
const REWRITE_ALL = new RegExp(REWRITES.map(([re]) => `(${re.source})`).join('|'), 'g');

function rewrite(text: string): string {
  return text.replace(REWRITE_ALL, (...m: unknown[]) => {
    for (let i = 0; i < REWRITES.length; i++) if (m[i + 1] !== undefined) return REWRITES[i][1];
    return m[0] as string;
  });
}

/** The literal-stage normalization (the grader's LaTeX normalization in its default configuration). */
export function normalizeLatex(text: string): string {
  let s = boxedContents(text);
  s = s
    .replace(/\\mathrm\{T\}/g, 'T')
    .replace(/\\mathrm\{d\}|\{\\rm d\}/g, 'd')
    .replace(/\\left\[\\begin\{matrix\}/g, '\\begin{bmatrix}')
    .replace(/\\end\{matrix\}\\right\]/g, '\\end{bmatrix}')
    .replace(SIZED_DELIMITER, '')
    .replace(/\\mathrm\{th\}|\\!\s*|\\text\s*\{\s*\}|\\\$|\$|(?<!\\)["']|\\displaystyle(?![a-zA-Z])/g, '');
  s = rewrite(s).replace(/[\n\t]/g, ' ');
  // A doubled backslash before a command name (`\\frac`) is one backslash, except in matrices (row breaks).
  if (!s.includes('matrix')) s = s.replace(/\\\\(?=[a-zA-Z])/g, '\\');
  return s.trim();
}

/**
 * Words that stand after a number as its unit or counted thing ("5 cm", "12 apples", "3 hours"). Matched
 * whole, at the end, with an optional plural "s"/"es" and a square or cube; single letters are deliberately
 * absent (in `5 m` the `m` may be a variable).
 */
const UNIT_WORDS = [
  'mm', 'cm', 'dm', 'km', 'meter', 'metre', 'mile', 'inch', 'inche', 'foot', 'feet', 'ft', 'yard', 'yd',
  'mg', 'kg', 'gram', 'gm', 'pound', 'lb', 'ounce', 'oz', 'ton', 'tonne',
  'ml', 'liter', 'litre', 'gallon', 'gal', 'cc',
  'second', 'sec', 'minute', 'min', 'hour', 'hr', 'day', 'week', 'month', 'year', 'yr',
  'degree', 'deg', 'radian', 'rad', 'mph', 'kmh', 'kph', 'km/h', 'm/s',
  'sq', 'square', 'cubic', 'unit', 'dollar', 'cent', 'euro', 'rupee', 'rs', 'point', 'digit',
  'person', 'people', 'student', 'child', 'children', 'men', 'man', 'women', 'woman',
  'apple', 'coin', 'ball', 'tile', 'way', 'time', 'step', 'edge', 'vertex', 'vertices', 'face', 'item',
  'page', 'book', 'ticket', 'car', 'marble', 'candy', 'candies', 'cookie', 'meal', 'game', 'round',
];
const UNIT_RE = new RegExp(`(\\d|\\}|\\s)\\s*(?:${UNIT_WORDS.map((w) => w.replace('/', '\\/')).join('|')})(?:es|s)?(?:\\^\\{?[23]\\}?|²|³)?\\s*$`, 'i');
/** A trailing `\text{...}` (units, words), possibly squared or cubed. */
const TRAILING_TEXT = /\\text\s*\{[^{}]*\}\s*(?:\^\{?\d\}?)?\s*$/;

function dropUnits(s: string): string {
  const t = s.replace(TRAILING_TEXT, '').trim();
  if (t !== '' && t !== s) s = t;
  for (let i = 0; i < 2; i++) {
    const u = s.replace(UNIT_RE, '$1').trim();
    if (u !== '' && u !== s) s = u;
  }
  return s;
}

/** `\frac12`, `\frac1{x}`, `\frac{x}2` and `\sqrt3` with their braces; `sqrt(x)` and `^(x)` as LaTeX. */
function fixOperators(s: string): string {
  return s
    .replace(/\^\s?\(([^()]*)\)/g, '^{$1}')
    .replace(/(?<!\\)sqrt\s?\(([^()]*)\)/g, '\\sqrt{$1}')
    .replace(/\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])/g, '\\frac{$1}{$2}')
    .replace(/\\frac\s*(\{[^{}]*\})\s*([0-9a-zA-Z])/g, '\\frac$1{$2}')
    .replace(/\\frac\s*([0-9a-zA-Z])\s*(\{)/g, '\\frac{$1}$2')
    .replace(/\\sqrt\s*([0-9a-zA-Z])/g, '\\sqrt{$1}')
    .replace(/^(-?\d+)\/(\d+)$/, '\\frac{$1}{$2}');
}

/**
 * The exact side of an approximation (`\frac{\sqrt3}{3} \approx 0.577` is `\frac{\sqrt3}{3}`), and the last
 * side of an equation chain of three or more sides (`x = 2 + 3 = 5` is `5`) when the answer is not a list.
 */
function cutRelations(s: string): string {
  const approx = s.search(/\\approx(?![a-zA-Z])/);
  if (approx > 0) s = s.slice(0, approx).trim();
  if (!/[,;]/.test(s)) {
    const sides = s.split(/(?<![\\<>!])=/);
    if (sides.length > 2) s = sides[sides.length - 1].trim();
  }
  return s;
}

const WHOLE_TEXT = /^\\text\s*\{([^{}]*)\}$/;

/** The symbolic-stage normalization: what is handed to the LaTeX parser. */
export function normalizeForParsing(text: string): string {
  let s = normalizeLatex(text);
  // An answer that is all one \text{...} is its content (`\text{yes}`, `\textbf{7}`).
  for (let m = WHOLE_TEXT.exec(s); m !== null; m = WHOLE_TEXT.exec(s)) s = m[1].trim();
  // A degree sign is read as no unit at all (`90^\circ` is 90), as the grader's parser does by default.
  s = s.replace(/\^\s*\{?\s*\\(?:circ|degree|circle)\s*\}?|\^?\{?°\}?/g, '');
  s = dropUnits(s);
  if (s.startsWith('.')) s = `0${s}`;
  s = fixOperators(s);
  s = cutRelations(s);
  // `14{,}916` became `14,916`: digits grouped by three with no space after the comma are one number.
  s = s.replace(/(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])/g, (n) => n.replace(/,/g, ''));
  return s;
}
