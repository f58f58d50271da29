// Invoking a server cmdlet: pipeline binding by property name (the shell's
// job, as in PowerShell), the request, then the answer: output, warnings,
// -WhatIf lines, errors, confirmation prompts and prompts for missing
// mandatory parameters.

import type { CmdletInfo, ConfirmImpact, InvokeRequest, InvokeResponse, ParameterInfo, WireError, WireValue } from '../../cmdlets/contract.js';
import type { CommandAst, Extent } from '../language/ast.js';
import { ErrorRecord, PipelineStoppedError } from './errors.js';
import type { Runtime } from './evaluator.js';
import { type EvaluatedArguments, type NamedArgument } from './parameters.js';
import { fromWireObject, toWire } from './wire.js';
import { Hashtable, PSObject, SecureString, toPSString } from './values.js';

export interface PipelineState {
  yesToAll: boolean;
  noToAll: boolean;
  /** Yes/No to All answers to ShouldContinue questions, by question id. */
  continueAnswers: Map<string, boolean>;
}

export interface RemoteInvocation {
  position: number;
  command: CommandAst;
  errorAction: string;
  warningAction: string;
  whatIf?: boolean;
  confirm?: boolean;
  state: PipelineState;
}

const CONFIRM_OPTIONS = '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): ';
const CONFIRM_HELP = [
  'Y - Continue with only the next step of the operation.',
  'A - Continue with all the steps of the operation.',
  'N - Skip this operation and proceed with the next operation.',
  'L - Skip this operation and all subsequent operations.',
  '? - Help',
].join('\n') + '\n';

/** The exception type PowerShell would show for a server error. */
export function exceptionNameFor(err: WireError): string {
  if (err.code.startsWith('ICX_PARAM_')) return 'ParameterBindingException';
  if (err.code === 'ICX_CMDLET_UNKNOWN') return 'CommandNotFoundException';
  if (err.code === 'ICX_AUTH_REQUIRED' || err.code === 'ICX_ACCESS_DENIED') return 'UnauthorizedAccessException';
  if (err.code.startsWith('ICX_CONFIRMATION')) return 'OperationCanceledException';
  switch (err.category) {
    case 'ObjectNotFound': return 'ManagementObjectNotFoundException';
    case 'InvalidOperation': return 'InvalidOperationException';
    case 'InvalidArgument': return 'ArgumentException';
    case 'InvalidData': return 'InvalidDataException';
    case 'ResourceExists': return 'ManagementObjectAlreadyExistsException';
    case 'ResourceUnavailable': return 'ServiceNotAvailableException';
    case 'ConnectionError': return 'WebException';
    case 'PermissionDenied': return 'UnauthorizedAccessException';
    case 'OperationStopped': return 'OperationCanceledException';
    default: return 'Exception';
  }
}

function normalizeImpact(v: unknown): ConfirmImpact {
  const s = toPSString(v).toLowerCase();
  return (['None', 'Low', 'Medium', 'High'] as ConfirmImpact[]).find((x) => x.toLowerCase() === s) ?? 'High';
}

/** Parameter sets consistent with the parameters the user named. */
function candidateSets(info: CmdletInfo, bound: ParameterInfo[]): string[] {
  const sets = info.parameterSets.length ? info.parameterSets : [info.defaultParameterSet];
  const ok = sets.filter((s) => bound.every((p) => !p.sets?.length || p.sets.includes(s)));
  const list = ok.length ? ok : sets;
  return [...list].sort((a, b) => (a === info.defaultParameterSet ? -1 : b === info.defaultParameterSet ? 1 : 0));
}

function inSet(p: ParameterInfo, set: string): boolean {
  return !p.sets?.length || p.sets.includes(set);
}

function propertyOf(obj: unknown, p: ParameterInfo): { found: boolean; value: unknown } {
  const names = [p.name, ...(p.aliases ?? [])];
  for (const n of names) {
    if (obj instanceof PSObject && obj.has(n)) return { found: true, value: obj.get(n) };
    if (obj instanceof Hashtable && obj.has(n)) return { found: true, value: obj.get(n) };
  }
  return { found: false, value: undefined };
}

/** Whether a pipeline value already has the parameter's type (PowerShell's binding "without coercion"). */
function matchesWithoutCoercion(value: unknown, p: ParameterInfo): boolean {
  switch (p.type) {
    case 'String': case 'Enum': case 'Flags': return typeof value === 'string';
    case 'Int32': case 'Int64': return typeof value === 'number';
    case 'Boolean': case 'SwitchParameter': return typeof value === 'boolean';
    case 'DateTime': return value instanceof Date;
    case 'Byte[]': return value instanceof Uint8Array;
    case 'SecureString': return value instanceof SecureString;
    case 'PSCredential': return value instanceof PSObject && value.typeName === 'System.Management.Automation.PSCredential';
    default: return false;
  }
}

type PipelineStep = 'byValue' | 'byPropertyName' | 'byValueCoerced';

/**
 * Binds one pipeline object to the cmdlet's parameters the way PowerShell does:
 * first ValueFromPipeline parameters whose type the object already has, then
 * ValueFromPipelineByPropertyName parameters from the object's properties, then
 * ValueFromPipeline with conversion (an object stands for its Identity). Each
 * step tries the parameter sets still possible, the default set first.
 */
export function bindPipelineObject(info: CmdletInfo, obj: unknown, userBound: ParameterInfo[], positionalCount: number): Record<string, unknown> {
  const boundNames = new Set(userBound.map((p) => p.name.toLowerCase()));
  const sets = candidateSets(info, userBound);
  const takenIn = (set: string): Set<string> => {
    const taken = new Set(boundNames);
    info.parameters
      .filter((p) => p.position !== undefined && inSet(p, set) && !taken.has(p.name.toLowerCase()))
      .sort((a, b) => a.position! - b.position!)
      .slice(0, positionalCount)
      .forEach((p) => taken.add(p.name.toLowerCase()));
    return taken;
  };
  const bindStep = (step: PipelineStep, set: string, taken: Set<string>, bindings: Record<string, unknown>): void => {
    for (const p of info.parameters) {
      if (!inSet(p, set) || taken.has(p.name.toLowerCase())) continue;
      if (step === 'byPropertyName') {
        if (!p.valueFromPipelineByPropertyName) continue;
        const prop = propertyOf(obj, p);
        if (!prop.found) continue;
        bindings[p.name] = prop.value;
      } else {
        if (!p.valueFromPipeline) continue;
        if (step === 'byValue' && !matchesWithoutCoercion(obj, p)) continue;
        bindings[p.name] = obj;
      }
      taken.add(p.name.toLowerCase());
      // The whole object binds to one parameter only.
      if (step !== 'byPropertyName') return;
    }
  };
  for (const step of ['byValue', 'byPropertyName', 'byValueCoerced'] as PipelineStep[]) {
    for (const set of sets) {
      const taken = takenIn(set);
      const bindings: Record<string, unknown> = {};
      bindStep(step, set, taken, bindings);
      if (Object.keys(bindings).length === 0) continue;
      // Once the object bound in a set, its other properties may fill that set's remaining parameters.
      if (step === 'byValue') bindStep('byPropertyName', set, taken, bindings);
      return bindings;
    }
  }
  return {};
}

function paramFor(info: CmdletInfo, name: string): ParameterInfo | undefined {
  const lower = name.toLowerCase();
  return info.parameters.find((p) => p.name.toLowerCase() === lower || (p.aliases ?? []).some((a) => a.toLowerCase() === lower));
}

export async function invokeRemote(
  rt: Runtime,
  info: CmdletInfo,
  args: EvaluatedArguments,
  input: unknown[] | undefined,
  inv: RemoteInvocation,
): Promise<unknown[]> {
  const parameters: Record<string, WireValue> = {};
  const userBound: ParameterInfo[] = [];
  const seen = new Map<string, NamedArgument>();
  for (const a of args.named) {
    if (a.param) {
      const key = a.param.name.toLowerCase();
      if (seen.has(key)) {
        throw rt.bindingError(info.name,
          `Cannot bind parameter because parameter '${a.param.name}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, "-parameter value1,value2,value3".`,
          'ParameterAlreadyBound', a.extent);
      }
      seen.set(key, a);
      userBound.push(a.param);
    }
    // The server resolves prefixes and reports unknown or ambiguous names; send the name as typed.
    parameters[a.typed] = toWire(a.value, a.param, a.text);
  }
  const positionalParams = info.parameters.filter((p) => p.position !== undefined).sort((a, b) => a.position! - b.position!);
  const positional = args.positional.map((a, i) => toWire(a.value, positionalParams[i], a.text));

  const base: InvokeRequest = {
    parameters,
    confirmPreference: normalizeImpact(rt.getVariable('ConfirmPreference')),
  };
  if (positional.length) base.positional = positional;
  const whatIf = inv.whatIf ?? (inv.whatIf === undefined && info.changesState ? Boolean(rt.getVariable('WhatIfPreference') === true || toPSString(rt.getVariable('WhatIfPreference')).toLowerCase() === 'true') : false);
  if (whatIf) base.whatIf = true;
  if (inv.confirm === true) base.confirm = true;
  if (inv.confirm === false) base.confirmed = true;

  if (input === undefined) return invokeOnce(rt, info, base, args, inv);
  const out: unknown[] = [];
  for (const obj of input) {
    rt.checkStopped();
    if (inv.state.noToAll) break;
    const bindings = bindPipelineObject(info, obj, userBound, args.positional.length);
    const request: InvokeRequest = { ...base, parameters: { ...parameters } };
    for (const [name, value] of Object.entries(bindings)) request.parameters![name] = toWire(value, paramFor(info, name));
    out.push(...(await invokeOnce(rt, info, request, args, inv)));
  }
  return out;
}

function errorSpan(args: EvaluatedArguments, err: WireError, command: CommandAst): Extent {
  if (err.parameter) {
    const lower = err.parameter.toLowerCase();
    const hit = args.named.find((a) => a.param?.name.toLowerCase() === lower || a.typed.toLowerCase() === lower);
    if (hit) return hit.extent;
  }
  return command;
}

export function recordFromWire(rt: Runtime, err: WireError, cmdlet: string, extent: Extent): ErrorRecord {
  return new ErrorRecord(err.message, {
    errorId: `${err.code},${cmdlet}`,
    category: err.category,
    exceptionName: exceptionNameFor(err),
    commandName: cmdlet,
    span: rt.span(extent),
    code: err.code,
    parameter: err.parameter,
  });
}

async function promptConfirm(rt: Runtime, c: NonNullable<WireError['confirmation']>): Promise<'Y' | 'A' | 'N' | 'L'> {
  const lines = ['', c.caption || 'Confirm'];
  const question = 'Are you sure you want to perform this action?';
  // ShouldProcess asks the standard question; ShouldContinue shows its own query only.
  if (c.kind !== 'ShouldContinue' && !c.query.startsWith(question)) lines.push(question);
  lines.push(c.query);
  rt.ui.write(lines.join('\n') + '\n');
  for (;;) {
    const answer = (await rt.ui.readLine(CONFIRM_OPTIONS)).trim().toUpperCase();
    if (answer === '' || answer === 'Y') return 'Y';
    if (answer === 'A' || answer === 'N' || answer === 'L') return answer;
    if (answer === '?') rt.ui.write(CONFIRM_HELP);
  }
}

async function promptMandatory(rt: Runtime, info: CmdletInfo, name: string, position: number, headerShown: boolean): Promise<WireValue> {
  const p = paramFor(info, name);
  const label = p?.name ?? name;
  if (!headerShown) rt.ui.write(`cmdlet ${info.name} at command pipeline position ${position}\nSupply values for the following parameters:\n`);
  const secret = p?.type === 'SecureString';
  if (p?.multiValued && p.type !== 'Byte[]') {
    const values: string[] = [];
    for (;;) {
      const v = await rt.ui.readLine(`${label}[${values.length}]: `);
      if (v === '') break;
      values.push(v);
    }
    return values;
  }
  const value = await rt.ui.readLine(`${label}: `, { secret });
  return secret ? toWire(new SecureString(value), p) : value;
}

async function invokeOnce(rt: Runtime, info: CmdletInfo, request: InvokeRequest, args: EvaluatedArguments, inv: RemoteInvocation): Promise<unknown[]> {
  let headerShown = false;
  for (;;) {
    rt.checkStopped();
    if (inv.state.yesToAll && !request.whatIf) request.confirmed = true;
    let res: InvokeResponse;
    try {
      res = await rt.host.invoke(info.name, request, { signal: rt.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError' || rt.signal.aborted) throw new PipelineStoppedError();
      const ie = e as { code?: string; category?: string; message: string };
      const wire: WireError = { code: ie.code ?? 'ICX_TRANSPORT_UNREACHABLE', category: (ie.category as WireError['category']) ?? 'ConnectionError', message: ie.message };
      rt.terminate(recordFromWire(rt, wire, info.name, inv.command), inv.errorAction);
    }
    for (const w of res.warnings) rt.writeWarning(w, inv.warningAction);
    for (const line of res.whatIf) rt.ui.write(line + '\n');
    for (const err of res.errors) rt.writeNonTerminating(recordFromWire(rt, err, info.name, errorSpan(args, err, inv.command)), inv.errorAction);
    // Most cmdlets write objects; a few write text, as New-ExchangeCertificate -GenerateRequest writes the request.
    const output = (res.output as unknown[]).map((o) => (o !== null && typeof o === 'object' ? fromWireObject(o as Record<string, unknown>, rt.types) : o));
    if (res.ok) return output;
    const err = res.error ?? { code: 'ICX_INTERNAL', category: 'NotSpecified', message: 'The server reported a failure without details.' };
    if (err.code === 'ICX_CONFIRMATION_REQUIRED' && err.confirmation?.kind === 'ShouldContinue' && err.confirmation.id) {
      // A question whose answer changes what the cmdlet does; No lets it go on without that step.
      const id = err.confirmation.id;
      let answer: boolean;
      const remembered = inv.state.continueAnswers.get(id);
      if (remembered !== undefined) answer = remembered;
      else {
        if (!rt.ui.canPrompt()) {
          rt.terminate(recordFromWire(rt, {
            ...err,
            message: `${err.confirmation.query}\nThis question needs an answer, but the shell cannot prompt (it runs with -NonInteractive or without a terminal). Run the command with -Force to answer Yes.`,
          }, info.name, inv.command), inv.errorAction);
        }
        const choice = await promptConfirm(rt, err.confirmation);
        answer = choice === 'Y' || choice === 'A';
        if (choice === 'A' || choice === 'L') inv.state.continueAnswers.set(id, answer);
      }
      request = { ...request, answers: { ...request.answers, [id]: answer } };
      continue;
    }
    if (err.code === 'ICX_CONFIRMATION_REQUIRED' && err.confirmation) {
      if (inv.state.noToAll) return output;
      if (!rt.ui.canPrompt()) {
        rt.terminate(recordFromWire(rt, {
          ...err,
          message: `${err.confirmation.query} This action needs confirmation, but the shell cannot prompt (it runs with -NonInteractive or without a terminal). Run the command with -Confirm:$false, or set $ConfirmPreference = 'None', to proceed without a prompt.`,
        }, info.name, inv.command), inv.errorAction);
      }
      const answer = await promptConfirm(rt, err.confirmation);
      if (answer === 'N') return output;
      if (answer === 'L') {
        inv.state.noToAll = true;
        return output;
      }
      if (answer === 'A') inv.state.yesToAll = true;
      request = { ...request, confirmed: true };
      continue;
    }
    if (err.code === 'ICX_PARAM_MISSING' && err.parameter && rt.ui.canPrompt()) {
      const value = await promptMandatory(rt, info, err.parameter, inv.position, headerShown);
      headerShown = true;
      if (value === '' ) {
        rt.terminate(recordFromWire(rt, {
          code: 'ICX_PARAM_INVALID', category: 'InvalidData', parameter: err.parameter,
          message: `Cannot bind argument to parameter '${paramFor(info, err.parameter)?.name ?? err.parameter}' because it is an empty string.`,
        }, info.name, inv.command), inv.errorAction);
      }
      request = { ...request, parameters: { ...request.parameters, [paramFor(info, err.parameter)?.name ?? err.parameter]: value } };
      continue;
    }
    rt.terminate(recordFromWire(rt, err, info.name, errorSpan(args, err, inv.command)), inv.errorAction);
  }
}
