// Parameter name resolution shared by local and server cmdlets: exact name or
// alias first, then an unambiguous prefix, as PowerShell's binder does.

import type { CmdletInfo, ParameterInfo } from '../../cmdlets/contract.js';
import type { Extent } from '../language/ast.js';

export interface LocalParameterInfo extends ParameterInfo {
  /** Collects every positional argument left over (ValueFromRemainingArguments). */
  remaining?: boolean;
}

/** PowerShell's common parameters the shell handles itself. */
export const COMMON_PARAMETERS: ParameterInfo[] = [
  { name: 'Verbose', type: 'SwitchParameter', aliases: ['vb'], description: 'Displays detailed information about the operation.' },
  { name: 'Debug', type: 'SwitchParameter', aliases: ['db'], description: 'Displays programmer-level detail about the operation.' },
  { name: 'ErrorAction', type: 'Enum', values: ['SilentlyContinue', 'Stop', 'Continue', 'Inquire', 'Ignore'], aliases: ['ea'], description: 'How the cmdlet responds to an error.' },
  { name: 'WarningAction', type: 'Enum', values: ['SilentlyContinue', 'Stop', 'Continue', 'Inquire', 'Ignore'], aliases: ['wa'], description: 'How the cmdlet responds to a warning.' },
  { name: 'ErrorVariable', type: 'String', aliases: ['ev'], description: 'Stores errors about the command in the named variable.' },
  { name: 'WarningVariable', type: 'String', aliases: ['wv'], description: 'Stores warnings about the command in the named variable.' },
  { name: 'OutVariable', type: 'String', aliases: ['ov'], description: 'Stores output objects in the named variable.' },
  { name: 'OutBuffer', type: 'Int32', aliases: ['ob'], description: 'Number of objects to buffer.' },
];

export const SHOULD_PROCESS_PARAMETERS: ParameterInfo[] = [
  { name: 'WhatIf', type: 'SwitchParameter', aliases: ['wi'], description: 'Shows what would happen if the cmdlet runs. The cmdlet is not run.' },
  { name: 'Confirm', type: 'SwitchParameter', aliases: ['cf'], description: 'Prompts you for confirmation before running the cmdlet.' },
];

const COMMON_NAMES = new Set([...COMMON_PARAMETERS, ...SHOULD_PROCESS_PARAMETERS].map((p) => p.name.toLowerCase()));

export function isCommonParameter(p: ParameterInfo): boolean {
  return COMMON_NAMES.has(p.name.toLowerCase()) && (COMMON_PARAMETERS.includes(p) || SHOULD_PROCESS_PARAMETERS.includes(p));
}

export function allParameters(info: CmdletInfo): ParameterInfo[] {
  return [...info.parameters, ...COMMON_PARAMETERS, ...(info.changesState ? SHOULD_PROCESS_PARAMETERS : [])];
}

export interface Resolution {
  param?: ParameterInfo;
  ambiguous?: ParameterInfo[];
}

export function resolveParameter(params: ParameterInfo[], typed: string): Resolution {
  const lower = typed.toLowerCase();
  const exact = params.find((p) => p.name.toLowerCase() === lower || (p.aliases ?? []).some((a) => a.toLowerCase() === lower));
  if (exact) return { param: exact };
  const matches = params.filter((p) => p.name.toLowerCase().startsWith(lower));
  if (matches.length === 1) return { param: matches[0] };
  if (matches.length > 1) return { ambiguous: matches };
  return {};
}

/** One named argument as the user wrote it, after evaluation. */
export interface NamedArgument {
  typed: string;
  param?: ParameterInfo;
  ambiguous?: ParameterInfo[];
  value: unknown;
  /** The source text of a number given in argument mode (`0123`). */
  text?: string;
  /** Whether a value was given (`-Confirm:$false`, `-Name x`) rather than a bare switch. */
  hasValue: boolean;
  extent: Extent;
}

export interface PositionalArgument {
  value: unknown;
  text?: string;
  extent: Extent;
}

export interface EvaluatedArguments {
  named: NamedArgument[];
  positional: PositionalArgument[];
}

/** The .NET type name PowerShell shows for a parameter type. */
export function parameterTypeDisplay(p: ParameterInfo): string {
  const base = p.type === 'SwitchParameter' ? 'SwitchParameter' : p.type === 'Enum' || p.type === 'Flags' ? (p.values?.length ? p.values.join(' | ') : 'String') : p.type;
  return p.multiValued && p.type !== 'Byte[]' ? base + '[]' : base;
}
