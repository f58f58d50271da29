// Runs shell text against the fake host with a scripted console.
import { createBuiltins } from '../../src/shell/builtins/index.js';
import { Runtime, type HostUI } from '../../src/shell/runtime/evaluator.js';
import { FakeHost } from './fake-host.js';

export interface RunResult {
  out: string;
  err: string;
  host: FakeHost;
  rt: Runtime;
  /** Prompts shown by readLine, in order. */
  prompts: string[];
  exitCode?: number;
}

export interface RunOptions {
  host?: FakeHost;
  /** Answers typed at prompts; when given, the console can prompt. */
  answers?: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  file?: string;
}

export async function run(script: string, options: RunOptions = {}): Promise<RunResult> {
  const host = options.host ?? new FakeHost();
  const answers = options.answers ? [...options.answers] : undefined;
  let out = '';
  let err = '';
  const prompts: string[] = [];
  const ui: HostUI = {
    write: (t) => { out += t; },
    writeError: (t) => { err += t; },
    canPrompt: () => answers !== undefined,
    readLine: async (prompt) => {
      prompts.push(prompt);
      out += prompt;
      const a = answers?.shift();
      if (a === undefined) throw new Error(`unexpected prompt: ${prompt}`);
      out += a + '\n';
      return a;
    },
    width: () => undefined,
  };
  const rt = new Runtime({ host, catalog: await host.listCmdlets(), ui, builtins: createBuiltins(), cwd: options.cwd, env: options.env ?? { ...process.env } });
  const result = await rt.runScript(script, { signal: options.signal, file: options.file });
  return { out, err, host, rt, prompts, exitCode: result.exitCode };
}

/** Output lines with the blank lines of table and list framing removed. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
