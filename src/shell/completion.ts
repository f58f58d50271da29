// Tab completion for the REPL: cmdlet names, parameter names and enum values
// from the cmdlet declarations, and variable names.

import type { ParameterInfo } from '../cmdlets/contract.js';
import { resolveParameter } from './runtime/parameters.js';

export interface CompletionSource {
  commandNames(): string[];
  /** All parameters of a command (including common ones), or undefined when unknown. */
  parametersOf(command: string): ParameterInfo[] | undefined;
  variableNames(): string[];
  /** Property names of a variable's value (`$cert.` completes them). */
  memberNames?(variable: string): string[];
}

export interface Completion {
  /** Candidates, each a full replacement for `token`. */
  hits: string[];
  /** The text before the cursor that the candidates replace. */
  token: string;
}

function startsWithCI(s: string, prefix: string): boolean {
  return s.toLowerCase().startsWith(prefix.toLowerCase());
}

/** Completes the token before the cursor. `line` is the text up to the cursor. */
export function complete(line: string, src: CompletionSource): Completion {
  const token = /[^\s|;(){},=]*$/.exec(line)?.[0] ?? '';
  const before = line.slice(0, line.length - token.length);
  const segmentStart = Math.max(before.lastIndexOf('|'), before.lastIndexOf(';'), before.lastIndexOf('('), before.lastIndexOf('{')) + 1;
  const segment = before.slice(segmentStart);
  const words = segment.trim().split(/\s+/).filter(Boolean);

  const member = /^\$([\w:]+)\.(\w*)$/.exec(token);
  if (member && src.memberNames) {
    const [, variable, prefix] = member;
    return { token, hits: src.memberNames(variable).filter((n) => startsWithCI(n, prefix)).map((n) => `$${variable}.${n}`) };
  }
  if (token.startsWith('$')) {
    const prefix = token.slice(1);
    return { token, hits: src.variableNames().filter((n) => startsWithCI(n, prefix)).map((n) => '$' + n) };
  }
  if (words.length === 0) {
    return { token, hits: src.commandNames().filter((n) => startsWithCI(n, token)) };
  }
  const params = src.parametersOf(words[0]);
  if (!params) return { token, hits: [] };
  if (token.startsWith('-')) {
    const prefix = token.slice(1);
    return { token, hits: params.filter((p) => startsWithCI(p.name, prefix)).map((p) => '-' + p.name) };
  }
  const previous = words[words.length - 1];
  if (previous && previous.startsWith('-') && !previous.includes(':')) {
    const res = resolveParameter(params, previous.slice(1));
    const p = res.param;
    if (p && (p.type === 'Enum' || p.type === 'Flags') && p.values) {
      return { token, hits: p.values.filter((v) => startsWithCI(v, token)) };
    }
    if (p && p.type === 'Boolean') return { token, hits: ['$true', '$false'].filter((v) => startsWithCI(v, token)) };
  }
  return { token, hits: [] };
}
