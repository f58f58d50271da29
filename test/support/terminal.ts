import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/**
 * A program in a real pseudo-terminal: tmux runs it, send-keys types, capture-pane reads the screen.
 * Each terminal has its own tmux server (socket named after the session): a shared one exits when its last
 * session is killed, and a session started at that moment fails with "server exited unexpectedly".
 */
export class Terminal {
  private constructor(readonly session: string) {}

  private static tmux(session: string, args: string[]): Buffer {
    return execFileSync('tmux', ['-L', session, ...args]);
  }

  /** Runs a shell command line in a new detached tmux session (it stays open a minute after the command ends, for reading). */
  static start(session: string, commandLine: string, opts: { cwd?: string; width?: number } = {}): Terminal {
    Terminal.tmux(session, ['new-session', '-d', '-s', session, '-x', String(opts.width ?? 220), '-y', '50', ...(opts.cwd ? ['-c', opts.cwd] : []), `${commandLine}; sleep 60`]);
    return new Terminal(session);
  }
  keys(...keys: string[]): void {
    Terminal.tmux(this.session, ['send-keys', '-t', this.session, ...keys]);
  }
  type(text: string): void {
    Terminal.tmux(this.session, ['send-keys', '-t', this.session, '-l', text]);
  }
  screen(): string {
    return Terminal.tmux(this.session, ['capture-pane', '-t', this.session, '-p', '-J', '-S', '-1000']).toString();
  }
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${pattern}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** The screen text after the last occurrence of a marker. */
  after(marker: string): string {
    const s = this.screen();
    return s.slice(s.lastIndexOf(marker));
  }
  kill(): void {
    try {
      Terminal.tmux(this.session, ['kill-server']);
    } catch {
      // already gone
    }
  }
}
