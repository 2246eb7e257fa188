// Heavy mode from the CLI as a user runs it: `generate --samples N --select ... --json` prints every
// candidate, the tally, the selection and the answer; `bench --samples 1,2` prints tokens/s per N.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/run-cli.mjs', ...args], { timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('heavy mode in the CLI', () => {
  let model: string;
  beforeAll(async () => {
    model = join(await mkdtemp(join(tmpdir(), 'boxed-heavy-cli-')), 'tiny');
    const r = await cli('make-model', '--out', model, '--preset', 'tiny', '--untied', '--seed', '2');
    expect(r.code, r.stderr).toBe(0);
  });

  it('generate --samples 3 --select genselect --json prints candidates, tally, selection and answer', async () => {
    const args = ['generate', '--model', model, '--prompt', '2+2?', '--mode', 'math', '--samples', '3', '--select', 'genselect', '--max-tokens', '6', '--context', '512', '--seed', '4', '--json'];
    const r = await cli(...args);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['candidates', 'tally', 'selection', 'answer']));
    expect(out.candidates).toHaveLength(3);
    for (const c of out.candidates) {
      expect(Object.keys(c).sort()).toEqual(['answer', 'ids', 'stop', 'text']);
      expect(c.ids.length).toBeGreaterThan(0);
      expect(['eos', 'max-tokens']).toContain(c.stop);
    }
    expect(out.selection.method).toBe('genselect');
    expect(out.tally).toHaveProperty('groups');
    const again = await cli(...args);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!).candidates).toEqual(out.candidates);
  });

  it('bench --samples 1,2 --json reports aggregate and per-sequence tokens/s for each N', async () => {
    const r = await cli('bench', '--model', model, '--samples', '1,2', '--prompt-tokens', '8', '--gen-tokens', '6', '--breakdown', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.samples.map((s: { n: number }) => s.n)).toEqual([1, 2]);
    for (const s of out.samples) {
      expect(s.aggregate_tokens_per_s).toBeGreaterThan(0);
      expect(s.per_sequence_tokens_per_s).toBeCloseTo(s.aggregate_tokens_per_s / s.n, 6);
      expect(s.rows_per_step).toBeCloseTo(s.n, 6);
      expect(s.cpu_ms_per_step).toBeGreaterThan(0);
      expect(s.h200_predicted_step_ms).toBeGreaterThan(0);
    }
    expect(out.aggregate_ratios.n2_over_n1).toBeGreaterThan(0);
    // the roofline: two rows cost less than twice one row (every weight is read once a step)
    expect(out.samples[0].h200_predicted_ratio_to_n1).toBeCloseTo(1, 9);
    expect(out.samples[1].h200_predicted_ratio_to_n1).toBeGreaterThan(1);
    // the breakdown: each row count timed whole and one kernel kind at a time, with its dispatches
    expect(out.breakdown.map((b: { rows: number }) => b.rows)).toEqual([1, 2]);
    for (const b of out.breakdown) {
      expect(b.step_ms).toBeGreaterThan(0);
      expect(Object.keys(b.only_ms).sort()).toEqual(['attention', 'lm_head', 'matmul', 'other', 'sample']);
      expect(b.dispatches.lm_head).toBe(1);
      expect(b.dispatches.sample).toBe(1);
      expect(b.dispatches.matmul).toBeGreaterThan(0);
      expect(Object.values(b.dispatches as Record<string, number>).reduce((a, x) => a + x, 0)).toBe(out.samples[0].dispatches_per_step);
    }
  });

  it.each([
    [['generate', '--prompt', 'x', '--samples', '17'], /--samples must be an integer in \[1, 16\]/],
    [['generate', '--prompt', 'x', '--select', 'vote'], /--select needs --samples/],
    [['generate', '--prompt', 'x', '--samples', '2', '--select', 'best'], /--select must be one of vote\|genselect/],
    [['bench', '--samples', '1,0'], /--samples must be a comma-separated list/],
  ])('rejects %j with a one-line error', async (args, message) => {
    const r = await cli(args[0], '--model', model, ...args.slice(1));
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
