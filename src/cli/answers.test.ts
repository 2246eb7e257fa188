// `answers`: the app's answer reading over JSON lines, as a real process on a real file, and line by line.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSymbolicEquivalence } from '../reasoning/equivalence';
import { answerLine } from './answers';

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/run-cli.mjs', ...args], { timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('answerLine', () => {
  beforeAll(() => loadSymbolicEquivalence());

  it.each([
    ['{"gold": "11", "pred": "x = 11"}', { equal: true }],
    ['{"gold": "32349", "pred": "32, 349"}', { equal: false }],
    ['{"gold": 0.5, "pred": "\\\\frac12"}', { equal: true }],
    ['{"gold": "1", "pred": null}', { equal: false }],
    ['{"mode": "math", "text": "<think>\\\\boxed{1}</think>So \\\\boxed{2}"}', { answer: '2', kind: 'boxed' }],
    ['{"mode": "math", "text": "<think>still \\\\boxed{1}"}', { answer: null, kind: 'boxed' }],
    ['{"mode": "science-open", "text": "<think>x</think>Answer: blue\\nConfidence: 9%"}', { answer: 'blue', kind: 'open' }],
    ['{"mode": "code", "text": "<think>t</think>```python\\nf()\\n```"}', { answer: 'f()', kind: 'code' }],
    ['{"mode": "science10", "text": "<think>t</think>Answer: \\\\boxed{H}"}', { answer: 'H', kind: 'choice' }],
    ['{"choices": "ABCD", "text": "Answer: \\\\boxed{B}"}', { letter: 'B' }],
    ['{"choices": "ABCD", "text": "<think>Answer: A</think>nothing"}', { letter: null }],
  ])('%s -> %j', (line, out) => {
    expect(answerLine(line)).toEqual(out);
  });

  it.each([
    ['not json', /not JSON/],
    ['[1, 2]', /JSON object/],
    ['{"mode": "poetry", "text": "x"}', /unknown mode/],
    ['{"mode": "math"}', /"text" must be a string/],
    ['{"choices": "AAB", "text": "A"}', /distinct capital letters/],
    ['{"gold": {"a": 1}, "pred": "1"}', /"gold" must be a string/],
    ['{"hello": 1}', /expected/],
  ])('%s -> an error line', (line, message) => {
    const out = answerLine(line);
    expect(Object.keys(out)).toEqual(['error']);
    expect(out.error).toMatch(message);
  });
});

describe('the answers command', () => {
  it('prints one line per input line, in order, and goes on after a bad line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boxed-answers-'));
    const file = join(dir, 'in.jsonl');
    const lines = [
      JSON.stringify({ gold: '(r+5)^2', pred: '(r+5)(r+5)' }),
      '{broken',
      '',
      JSON.stringify({ mode: 'math', text: '<think>x</think>\\boxed{\\frac{1}{2}}' }),
      JSON.stringify({ gold: '1e-7', pred: '0' }),
    ];
    await writeFile(file, lines.join('\n') + '\n');
    const r = await cli('answers', '--in', file);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(4); // the blank line is skipped
    expect(out[0]).toEqual({ equal: true });
    expect(out[1].error).toMatch(/not JSON/);
    expect(out[2]).toEqual({ answer: '\\frac{1}{2}', kind: 'boxed' });
    expect(out[3]).toEqual({ equal: false });
  });

  it('rejects a missing file with a one-line error', async () => {
    const r = await cli('answers', '--in', join(tmpdir(), 'no-such-file.jsonl'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: InvalidRequest: --in: '.*' is not a file/);
  });
});
