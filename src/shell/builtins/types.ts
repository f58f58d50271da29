// The shape of a local cmdlet (Where-Object, Format-List, Get-Date, ...).

import type { CmdletInfo } from '../../cmdlets/contract.js';
import type { LocalParameterInfo } from '../runtime/parameters.js';
import type { ErrorRecord, SourceSpan } from '../runtime/errors.js';
import type { Runtime } from '../runtime/evaluator.js';

export interface BuiltinInfo extends CmdletInfo {
  parameters: LocalParameterInfo[];
  /** Positional arguments no parameter takes go to `$args` (functions) instead of failing. */
  extraArguments?: boolean;
}

export interface BoundParameters {
  has(name: string): boolean;
  get(name: string): unknown;
  /** The source text of a number argument, for String parameters. */
  text(name: string): string | undefined;
}

export interface BuiltinCall {
  rt: Runtime;
  name: string;
  params: BoundParameters;
  /** Pipeline input; undefined when the cmdlet is first in its pipeline. Set when the input is complete. */
  input: unknown[] | undefined;
  errorAction: string;
  span: SourceSpan;
  /** Writes a non-terminating error (honours -ErrorAction). */
  writeError(record: ErrorRecord): void;
  /** Builds an error record attributed to this cmdlet. */
  error(message: string, errorId: string, category?: ErrorRecord['fields']['category'], exceptionName?: string, target?: string): ErrorRecord;
}

/** A pipeline stage that handles objects one at a time, as PowerShell's process block does. */
export interface Processor {
  process(obj: unknown): Promise<void>;
  /** End of input; the only call when the command is first in its pipeline. */
  end(): Promise<void>;
}

export type Emit = (obj: unknown) => Promise<void>;

export interface Builtin {
  info: BuiltinInfo;
  aliases?: string[];
  /** All input at once (Sort-Object, Format-Table, ...). */
  run(call: BuiltinCall): Promise<unknown[]>;
  /** Object by object (Where-Object, ForEach-Object); when absent, input is collected for run(). */
  stream?(call: BuiltinCall, emit: Emit): Processor;
}

/** Declares a local cmdlet with the CmdletInfo fields that never vary for local cmdlets. */
export function builtin(
  name: string,
  synopsis: string,
  parameters: LocalParameterInfo[],
  run: Builtin['run'],
  options: { aliases?: string[]; examples?: CmdletInfo['examples']; changesState?: boolean; description?: string } = {},
): Builtin {
  return {
    info: {
      name,
      synopsis,
      description: options.description,
      parameters,
      parameterSets: ['Default'],
      defaultParameterSet: 'Default',
      role: 'Local',
      changesState: options.changesState ?? false,
      confirmImpact: 'None',
      examples: options.examples ?? [],
    },
    aliases: options.aliases,
    run,
  };
}
