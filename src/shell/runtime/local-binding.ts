// Parameter binding of local cmdlets (Where-Object, Format-List, ...): names
// and prefixes, positions, switches, left-over arguments, mandatory parameters,
// with PowerShell's binding errors. Server cmdlets are bound by the server.

import type { CommandAst, Extent } from '../language/ast.js';
import type { Builtin, BoundParameters, BuiltinCall } from '../builtins/types.js';
import { ErrorRecord, PSRuntimeError, StatementTerminatingError } from './errors.js';
import type { Runtime } from './evaluator.js';
import type { EvaluatedArguments, LocalParameterInfo } from './parameters.js';
import { enumerate, toBool, toPSString } from './values.js';

/** Local cmdlets report errors with the .NET command class name, e.g. Microsoft.PowerShell.Commands.SelectObjectCommand. */
export function fullCommandName(name: string): string {
  return 'Microsoft.PowerShell.Commands.' + name.replace(/-/g, '') + 'Command';
}

export function builtinCall(rt: Runtime, name: string, values: Map<string, unknown>, texts: Map<string, string>, input: unknown[] | undefined, cmd: Extent, errorAction: string, full = fullCommandName(name)): BuiltinCall {
  const span = rt.span(cmd);
  const params: BoundParameters = {
    has: (n) => values.has(n.toLowerCase()),
    get: (n) => values.get(n.toLowerCase()),
    text: (n) => texts.get(n.toLowerCase()),
  };
  return {
    rt,
    name,
    params,
    input,
    errorAction,
    span,
    writeError: (record) => rt.writeNonTerminating(record.withSpan(span).withCommand(name), errorAction),
    error: (message, errorId, category = 'NotSpecified', exceptionName = 'Exception', target) => new ErrorRecord(message, {
      errorId: `${errorId},${full}`, category, exceptionName, commandName: name, target, targetType: target === undefined ? undefined : 'String', span,
    }),
  };
}

/**
 * Binds a local cmdlet's arguments. `input` is undefined when the cmdlet is first
 * in its pipeline; otherwise pipeline input will arrive (so parameters that take
 * it are not missing).
 */
export async function bindBuiltin(rt: Runtime, b: Builtin, name: string, args: EvaluatedArguments, input: unknown[] | undefined, cmd: CommandAst, errorAction: string): Promise<BuiltinCall> {
  const values = new Map<string, unknown>();
  const texts = new Map<string, string>();
  const params = b.info.parameters as LocalParameterInfo[];
  // Script functions are named as themselves in error ids; local cmdlets by their .NET class.
  const full = b.info.role === 'Function' ? name : fullCommandName(name);
  for (const a of args.named) {
    if (a.ambiguous) {
      throw rt.bindingError(name,
        `Parameter cannot be processed because the parameter name '${a.typed}' is ambiguous. Possible matches include: ${a.ambiguous.map((p) => '-' + p.name).join(' ')}.`,
        'AmbiguousParameter', a.extent, full);
    }
    if (!a.param) {
      throw rt.bindingError(name, `A parameter cannot be found that matches parameter name '${a.typed}'.`, 'NamedParameterNotFound', a.extent, full);
    }
    const key = a.param.name.toLowerCase();
    if (values.has(key)) {
      throw rt.bindingError(name,
        `Cannot bind parameter because parameter '${a.param.name}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`,
        'ParameterAlreadyBound', a.extent, full);
    }
    values.set(key, a.param.type === 'SwitchParameter' ? toBool(a.value) : a.value);
    if (a.text !== undefined) texts.set(key, a.text);
  }
  const positional = params.filter((p) => p.position !== undefined && !values.has(p.name.toLowerCase())).sort((x, y) => x.position! - y.position!);
  const remaining = params.find((p) => p.remaining && !values.has(p.name.toLowerCase()));
  const leftovers: unknown[] = [];
  const extra: unknown[] = [];
  for (const a of args.positional) {
    const p = positional.shift();
    if (p && !(p.remaining && remaining === p)) {
      values.set(p.name.toLowerCase(), a.value);
      if (a.text !== undefined) texts.set(p.name.toLowerCase(), a.text);
      continue;
    }
    if (remaining) {
      leftovers.push(a.value);
      continue;
    }
    if (b.info.extraArguments) {
      extra.push(a.value);
      continue;
    }
    throw rt.bindingError(name, `A positional parameter cannot be found that accepts argument '${toPSString(a.value)}'.`, 'PositionalParameterNotFound', a.extent, full);
  }
  if (b.info.extraArguments) values.set('$args', extra);
  if (remaining && leftovers.length) {
    const existing = values.get(remaining.name.toLowerCase());
    values.set(remaining.name.toLowerCase(), existing === undefined ? (leftovers.length === 1 && !remaining.multiValued ? leftovers[0] : leftovers) : [...enumerate(existing), ...leftovers]);
  }
  for (const p of params) {
    if (p.mandatory && !values.has(p.name.toLowerCase()) && !(input !== undefined && p.valueFromPipeline)) {
      if (rt.ui.canPrompt()) {
        rt.ui.write(`\ncmdlet ${name} at command pipeline position 1\nSupply values for the following parameters:\n`);
        const answer = await rt.ui.readLine(`${p.name}: `, { secret: p.type === 'SecureString' });
        values.set(p.name.toLowerCase(), answer);
        continue;
      }
      throw rt.bindingError(name, `Cannot process command because of one or more missing mandatory parameters: ${p.name}.`, 'MissingMandatoryParameter', cmd, full);
    }
  }
  return builtinCall(rt, name, values, texts, input, cmd, errorAction, full);
}

/** Runs part of a local cmdlet; a value it could not use is its error, shown with its name. */
export async function asCmdletError<T>(rt: Runtime, call: BuiltinCall, cmd: Extent, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof PSRuntimeError) {
      throw new StatementTerminatingError(new ErrorRecord(e.message, {
        errorId: `${e.errorId},${fullCommandName(call.name)}`, category: e.category, exceptionName: e.exceptionName, commandName: call.name, span: rt.span(cmd),
      }));
    }
    throw e;
  }
}
