// Bounded rendering of a chat template. A template comes from whatever repository the user names, so its
// evaluation is metered: the interpreter counts every node it evaluates, checks the clock every few
// thousand nodes, and measures the strings it makes; `range()` refuses huge lists. A template over any
// limit stops with TemplateBudgetExceeded (template.ts turns it into a ModelFormat error naming the file)
// instead of hanging the worker or exhausting its memory.
import { Interpreter } from '@huggingface/jinja';

export interface TemplateBudget {
  /** Wall-clock time for one render. */
  ms: number;
  /** Evaluated nodes for one render. */
  steps: number;
  /** The longest string one expression may produce (the rendered prompt included). */
  maxString: number;
  /** All string values produced by one render, summed (bounds the memory a loop can fill). */
  totalChars: number;
}

/** Real templates need a few thousand steps and well under a millisecond per message. */
export const DEFAULT_TEMPLATE_BUDGET: TemplateBudget = { ms: 2000, steps: 2_000_000, maxString: 8 << 20, totalChars: 64 << 20 };

/** The longest list `range()` makes in a template. */
export const MAX_RANGE = 100_000;

/** The largest template text accepted (Qwen's is about 2.5 KB). */
export const MAX_TEMPLATE_CHARS = 256 << 10;

export class TemplateBudgetExceeded extends Error {}

type Statement = Parameters<Interpreter['evaluate']>[0];
type Env = Parameters<Interpreter['evaluate']>[1];
type Value = ReturnType<Interpreter['evaluate']>;

const CLOCK_EVERY = 4096;

export class BudgetedInterpreter extends Interpreter {
  private steps = 0;
  private chars = 0;
  private readonly deadline: number;

  constructor(
    env: Env,
    private readonly budget: TemplateBudget = DEFAULT_TEMPLATE_BUDGET,
  ) {
    super(env);
    this.deadline = Date.now() + budget.ms;
  }

  override evaluate(statement: Statement, environment: Env): Value {
    if (++this.steps > this.budget.steps) throw new TemplateBudgetExceeded(`more than ${this.budget.steps.toLocaleString('en-US')} evaluation steps`);
    if (this.steps % CLOCK_EVERY === 0 && Date.now() > this.deadline) throw new TemplateBudgetExceeded(`rendering took longer than ${this.budget.ms} ms`);
    const value = super.evaluate(statement, environment);
    const v: unknown = value.value;
    if (typeof v === 'string') {
      if (v.length > this.budget.maxString) throw new TemplateBudgetExceeded(`a string of ${v.length.toLocaleString('en-US')} characters (limit ${this.budget.maxString.toLocaleString('en-US')})`);
      this.chars += v.length;
      if (this.chars > this.budget.totalChars) throw new TemplateBudgetExceeded(`more than ${this.budget.totalChars.toLocaleString('en-US')} characters of text made`);
    }
    return value;
  }
}

/** Python's range(stop) / range(start, stop[, step]), refusing lists longer than MAX_RANGE. */
export function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every(Number.isFinite)) throw new Error('range() needs finite numbers');
  if (step === 0) throw new Error('range() step must not be zero');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (length > MAX_RANGE) throw new TemplateBudgetExceeded(`range() of ${length.toLocaleString('en-US')} numbers (limit ${MAX_RANGE.toLocaleString('en-US')})`);
  const out: number[] = [];
  for (let i = 0; i < length; i++) out.push(start + i * step);
  return out;
}
