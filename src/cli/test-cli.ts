// For the CLI's tests: runs the CLI as a user does, in a real process (scripts/run-cli.mjs), and reads its
// exit code, output and one-line errors.
import { execFile } from 'node:child_process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/run-cli.mjs', ...args], { timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** stderr's error lines, without Dawn's start-up warnings */
export const errorLines = (r: CliRun): string[] => r.stderr.split('\n').filter((l) => l.startsWith('error:'));
