// Entry point of `interchange shell`: -Command text, -File script, a script on
// standard input, or the interactive REPL. The CLI builds the CmdletHost.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createBuiltins } from './builtins/index.js';
import type { CmdletCatalog, CmdletHost } from './host.js';
import { Runtime, type HostUI } from './runtime/evaluator.js';
import { ReplUI, runRepl } from './repl.js';

export interface RunShellOptions {
  host: CmdletHost;
  /** -Command text. */
  command?: string;
  /** -File script path. */
  file?: string;
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Run the REPL (when neither command nor file is given). */
  interactive: boolean;
  /** -NonInteractive: never prompt; commands that need confirmation fail. */
  nonInteractive: boolean;
  historyFile?: string;
  /** The REPL prompt, e.g. `[PS] EX01>`. */
  prompt: string;
  /** Working directory for relative paths (defaults to the process's). */
  cwd?: string;
}

function isTTY(s: NodeJS.ReadableStream | NodeJS.WritableStream | undefined): boolean {
  return !!s && (s as { isTTY?: boolean }).isTTY === true;
}

/** Console for -Command, -File and stdin scripts: prompts go to the terminal when there is one. */
class ScriptUI implements HostUI {
  private rl?: readline.Interface;
  private rejectPending?: (e: Error) => void;
  constructor(private readonly opts: RunShellOptions, private readonly stdinIsScript: boolean, private readonly interrupt: () => void) {}
  write(text: string): void {
    this.opts.stdout.write(text);
  }
  writeError(text: string): void {
    this.opts.stderr.write(text);
  }
  canPrompt(): boolean {
    return !this.opts.nonInteractive && !this.stdinIsScript && isTTY(this.opts.stdin);
  }
  width(): number | undefined {
    const cols = (this.opts.stdout as NodeJS.WriteStream).columns;
    return isTTY(this.opts.stdout) && cols ? cols - 1 : undefined;
  }
  readLine(prompt: string, options: { secret?: boolean } = {}): Promise<string> {
    if (!this.rl) {
      this.rl = readline.createInterface({ input: this.opts.stdin!, output: this.opts.stdout, terminal: true });
      // In raw mode Ctrl-C reaches readline, not the process: stop the script and the open question.
      this.rl.on('SIGINT', () => {
        this.opts.stdout.write('\n');
        this.interrupt();
        this.rejectPending?.(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      });
    }
    const rl = this.rl;
    const r = rl as unknown as { _writeToOutput(s: string): void };
    const original = r._writeToOutput.bind(rl);
    if (options.secret) {
      r._writeToOutput = (s: string) => original(s === '\r\n' || s === '\n' ? s : s.startsWith(prompt) ? prompt + '*'.repeat(s.length - prompt.length) : '*'.repeat(s.length));
    }
    return new Promise((resolve, reject) => {
      this.rejectPending = (e) => {
        r._writeToOutput = original;
        this.rejectPending = undefined;
        reject(e);
      };
      rl.question(prompt, (answer) => {
        r._writeToOutput = original;
        this.rejectPending = undefined;
        resolve(answer);
      });
    });
  }
  close(): void {
    this.rl?.close();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the shell in the mode the options select; resolves to the process exit code. */
export async function runShell(opts: RunShellOptions): Promise<number> {
  let catalog: CmdletCatalog;
  try {
    catalog = await opts.host.listCmdlets();
  } catch (e) {
    opts.stderr.write(`Cannot load the cmdlets from the Interchange server: ${(e as Error).message}\n`);
    return 1;
  }
  const builtins = createBuiltins();
  const cwd = opts.cwd ?? process.cwd();
  const scriptMode = opts.command !== undefined || opts.file !== undefined || !opts.interactive;

  if (scriptMode) {
    const stdinIsScript = opts.command === undefined && opts.file === undefined;
    const controller = new AbortController();
    const ui = new ScriptUI(opts, stdinIsScript, () => controller.abort());
    const rt = new Runtime({ host: opts.host, catalog, ui, builtins, cwd });
    const onSigint = (): void => controller.abort();
    process.on('SIGINT', onSigint);
    try {
      let text: string;
      let file: string | undefined;
      if (opts.command !== undefined) {
        text = opts.command;
      } else if (opts.file !== undefined) {
        file = path.resolve(cwd, opts.file);
        try {
          text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
        } catch {
          opts.stderr.write(`The argument '${opts.file}' to the -File parameter does not exist. Provide the path to an existing '.ps1' file as an argument to the -File parameter.\n`);
          return 1;
        }
      } else {
        text = opts.stdin ? await readAll(opts.stdin) : '';
      }
      const result = await rt.runScript(text, { file, signal: controller.signal });
      if (result.exitCode !== undefined) return result.exitCode;
      if (controller.signal.aborted) return 1;
      return rt.hadTerminatingError ? 1 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      ui.close();
    }
  }

  const input = opts.stdin ?? process.stdin;
  const replOpts = { input, output: opts.stdout, errorOutput: opts.stderr, prompt: opts.prompt, historyFile: opts.historyFile, nonInteractive: opts.nonInteractive };
  const ui = new ReplUI(replOpts);
  const rt = new Runtime({ host: opts.host, catalog, ui, builtins, cwd });
  opts.stdout.write('Interchange Management Shell. Get-Command lists the cmdlets; Get-Help <cmdlet> explains one.\n\n');
  return runRepl(rt, ui, replOpts);
}
