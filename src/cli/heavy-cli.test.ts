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
    const r = await cli('bench', '--model', model, '--samples', '1,2', '--prompt-tokens', '8', '--gen-tokens', '6', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.samples.map((s: { n: number }) => s.n)).toEqual([1, 2]);
    for (const s of out.samples) {
      expect(s.aggregate_tokens_per_s).toBeGreaterThan(0);
      expect(s.per_sequence_tokens_per_s).toBeCloseTo(s.aggregate_tokens_per_s / s.n, 6);
      expect(s.rows_per_step).toBeCloseTo(s.n, 6);
    }
    expect(out.aggregate_ratios.n2_over_n1).toBeGreaterThan(0);
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
