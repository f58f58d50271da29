// The `interchange` command as an administrator runs it, to its end: for the
// refusals that must be one line and an exit code (start-up, join, identity).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI } from './interchange.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Runs it as this account (setpriv), for what differs without root. */
  user?: string;
  /** Standard input (empty by default, so nothing waits for a terminal). */
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const argv = [CLI, ...args];
  const [command, fullArgs] = opts.user ? ['setpriv', [`--reuid=${opts.user}`, `--regid=${opts.user}`, '--clear-groups', process.execPath, ...argv]] : [process.execPath, argv];
  const r = spawnSync(command, fullArgs, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input ?? '',
    // A directory in the tester's environment must not leak into a command that names none.
    env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn', INTERCHANGE_DIRECTORY: '', ...opts.env },
  });
  assert.equal(r.error, undefined, `interchange ${args[0]} did not finish: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on standard error matching `pattern`, no stack trace, exit code 1: how every refusal looks. */
export function assertOneLineFailure(r: Pick<CliResult, 'status' | 'stderr'> & { stdout?: string }, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit code 1 expected:\n${r.stdout ?? ''}${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
