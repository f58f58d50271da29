// The interactive shell on node:readline: history kept in a file, tab
// completion, continuation lines for unfinished statements, Ctrl-C stopping
// the running command (and its request) but not the shell.

import fs from 'node:fs';
import readline from 'node:readline';
import { complete } from './completion.js';
import { isIncompleteInput } from './language/parser.js';
import type { HostUI, Runtime } from './runtime/evaluator.js';
import { allParameters } from './runtime/parameters.js';
import { Hashtable, PSObject } from './runtime/values.js';

export interface ReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  errorOutput: NodeJS.WritableStream;
  prompt: string;
  historyFile?: string;
  nonInteractive: boolean;
}

const HISTORY_SIZE = 1000;

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // The file keeps the oldest line first; readline wants the newest first.
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string | undefined, history: string[]): void {
  if (!file) return;
  try {
    fs.writeFileSync(file, [...history].reverse().join('\n') + '\n', { mode: 0o600 });
  } catch {
    // History is a convenience; a read-only home must not break the shell.
  }
}

/** The console of an interactive session; `rl` is attached once the interface exists. */
export class ReplUI implements HostUI {
  rl?: readline.Interface;
  /** Aborts a pending prompt when Ctrl-C stops the command. */
  signal?: AbortSignal;
  private muted = false;
  /** A prompt inside a command is open; its answer is not a command for the history. */
  asking = false;

  constructor(private readonly opts: ReplOptions) {}

  attach(rl: readline.Interface): void {
    this.rl = rl;
    const r = rl as unknown as { _writeToOutput(s: string): void; line: string };
    const original = r._writeToOutput.bind(rl);
    let currentPrompt = '';
    r._writeToOutput = (s: string) => {
      if (!this.muted || s === '\r\n' || s === '\n') return original(s);
      if (s.startsWith(currentPrompt)) return original(currentPrompt + '*'.repeat(s.length - currentPrompt.length));
      return original('*'.repeat(s.length));
    };
    this.setPromptText = (p: string) => {
      currentPrompt = p;
    };
  }
  private setPromptText: (p: string) => void = () => undefined;

  write(text: string): void {
    this.opts.output.write(text);
  }
  /** Errors in red and warnings in yellow, as the PowerShell console shows them, when writing to a terminal. */
  writeError(text: string): void {
    this.opts.errorOutput.write(this.color(this.opts.errorOutput, '91', text));
  }
  writeWarning(text: string): void {
    this.opts.output.write(this.color(this.opts.output, '93', text));
  }
  private color(stream: NodeJS.WritableStream, code: string, text: string): string {
    if (!(stream as { isTTY?: boolean }).isTTY) return text;
    return text.split('\n').map((l) => (l ? `\x1b[${code}m${l}\x1b[0m` : l)).join('\n');
  }
  canPrompt(): boolean {
    return !this.opts.nonInteractive && !!this.rl;
  }
  width(): number | undefined {
    const cols = (this.opts.output as NodeJS.WriteStream).columns;
    return cols ? cols - 1 : undefined;
  }
  clear(): void {
    this.opts.output.write('\x1b[2J\x1b[H');
  }
  readLine(prompt: string, options: { secret?: boolean } = {}): Promise<string> {
    const rl = this.rl;
    if (!rl) return Promise.reject(new Error('No terminal.'));
    this.setPromptText(prompt);
    this.muted = !!options.secret;
    this.asking = true;
    return new Promise<string>((resolve, reject) => {
      const done = (answer: string): void => {
        this.muted = false;
        this.asking = false;
        const history = (rl as unknown as { history: string[] }).history;
        if (answer !== '' && history[0] === answer) history.shift();
        resolve(answer);
      };
      if (this.signal) {
        if (this.signal.aborted) {
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          return;
        }
        this.signal.addEventListener('abort', () => {
          this.muted = false;
          this.asking = false;
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        }, { once: true });
        rl.question(prompt, { signal: this.signal }, done);
      } else {
        rl.question(prompt, done);
      }
    });
  }
}

/** Runs the read-eval-print loop until `exit` or end of input; resolves to the exit code. */
export function runRepl(rt: Runtime, ui: ReplUI, opts: ReplOptions): Promise<number> {
  const prompt = opts.prompt.endsWith(' ') ? opts.prompt : opts.prompt + ' ';
  const completer = (line: string): [string[], string] => {
    const result = complete(line, {
      commandNames: () => [...rt.commandNames(), ...rt.aliasNames().map((a) => a.alias)],
      parametersOf: (name) => {
        const entry = rt.resolveCommand(name);
        if (!entry) return undefined;
        return allParameters(entry.kind === 'builtin' ? entry.builtin.info : entry.info);
      },
      variableNames: () => rt.variables().map((v) => v.name),
      memberNames: (variable) => {
        const value = rt.getVariable(variable);
        const first = Array.isArray(value) ? value[0] : value;
        if (first instanceof PSObject) return first.names();
        if (first instanceof Hashtable) return first.keys().map((k) => String(k));
        return [];
      },
    });
    // readline replaces the typed token when a candidate's spelling differs (get-exch -> Get-ExchangeCertificate).
    return [result.hits, result.token];
  };

  const rl: readline.Interface = readline.createInterface({
    input: opts.input,
    output: opts.output,
    terminal: true,
    completer,
    history: loadHistory(opts.historyFile),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt,
  } as readline.ReadLineOptions);
  ui.attach(rl);
  rl.on('history', (h: string[]) => {
    if (!ui.asking) saveHistory(opts.historyFile, h);
  });

  return new Promise<number>((resolve) => {
    let buffer = '';
    let running: AbortController | undefined;
    const queue: string[] = [];
    let exitCode = 0;
    let closed = false;

    const showPrompt = (): void => {
      rl.setPrompt(buffer ? '>> ' : prompt);
      rl.prompt();
    };

    const finish = (code: number): void => {
      if (closed) return;
      closed = true;
      rl.close();
      resolve(code);
    };

    const runText = async (text: string): Promise<void> => {
      running = new AbortController();
      ui.signal = running.signal;
      try {
        const result = await rt.runScript(text, { signal: running.signal });
        if (result.exitCode !== undefined) {
          exitCode = result.exitCode;
          finish(exitCode);
          return;
        }
        if (running.signal.aborted) opts.output.write('\n');
      } finally {
        running = undefined;
        ui.signal = undefined;
      }
    };

    const pump = async (): Promise<void> => {
      while (queue.length && !closed) {
        const line = queue.shift()!;
        const text = buffer ? buffer + '\n' + line : line;
        if (line.trim() !== '' && isIncompleteInput(text)) {
          buffer = text;
          continue;
        }
        buffer = '';
        if (text.trim() !== '') await runText(text);
      }
      if (!closed) showPrompt();
    };

    // Several lines can arrive in one read (a paste, fast typing): readline then
    // emits them in one go, before pump's completion is observed, so a line
    // queued in that gap must start another pump or it would wait forever.
    let pumping = false;
    const drain = (): void => {
      if (pumping) return;
      pumping = true;
      void pump().finally(() => {
        pumping = false;
        if (queue.length && !closed) drain();
      });
    };
    rl.on('line', (line) => {
      queue.push(line);
      drain();
    });
    rl.on('SIGINT', () => {
      if (running) {
        running.abort();
        return;
      }
      buffer = '';
      queue.length = 0;
      opts.output.write('^C\n');
      showPrompt();
    });
    rl.on('close', () => {
      if (!closed) {
        closed = true;
        resolve(exitCode);
      }
    });
    showPrompt();
  });
}

