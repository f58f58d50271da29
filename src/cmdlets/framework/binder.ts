import type { WireValue } from '../contract.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { BoundParameters, CmdletDeclaration, ParameterDeclaration } from './declaration.js';
import { convertValue } from './conversion.js';

/** PowerShell's common parameters: accepted on every cmdlet, handled by the runner or ignored. */
const COMMON_PARAMETERS = [
  'WhatIf',
  'Confirm',
  'ErrorAction',
  'WarningAction',
  'Verbose',
  'Debug',
  'ErrorVariable',
  'WarningVariable',
  'OutVariable',
  'OutBuffer',
  'InformationAction',
  'InformationVariable',
  'PipelineVariable',
  // Exchange accepts this everywhere; Interchange has one directory, so it only acknowledges it.
  'DomainController',
];

export interface BindingResult {
  parameterSetName: string;
  parameters: BoundParameters;
  common: { whatIf?: boolean; confirm?: boolean };
}

function setsOf(decl: CmdletDeclaration, p: ParameterDeclaration): string[] {
  const all = decl.parameterSets ?? ['Default'];
  return p.sets && p.sets.length ? p.sets : all;
}

function isMandatoryIn(p: ParameterDeclaration, set: string): boolean {
  if (p.mandatory === true) return true;
  return Array.isArray(p.mandatory) && p.mandatory.includes(set);
}

/** Resolves a typed name (any case, unambiguous prefix, alias) to a declared or common parameter. */
function resolveName(decl: CmdletDeclaration, typed: string): { param?: ParameterDeclaration; common?: string } {
  const lower = typed.replace(/^-/, '').toLowerCase();
  const exact = decl.parameters.find((p) => p.name.toLowerCase() === lower || p.aliases?.some((a) => a.toLowerCase() === lower));
  if (exact) return { param: exact };
  const exactCommon = COMMON_PARAMETERS.find((c) => c.toLowerCase() === lower);
  if (exactCommon && (decl.changesState || (exactCommon !== 'WhatIf' && exactCommon !== 'Confirm'))) return { common: exactCommon };
  const candidates = [
    ...decl.parameters.filter((p) => p.name.toLowerCase().startsWith(lower)).map((p) => p.name),
    ...COMMON_PARAMETERS.filter((c) => c.toLowerCase().startsWith(lower) && (decl.changesState || (c !== 'WhatIf' && c !== 'Confirm'))),
  ];
  if (candidates.length === 1) {
    const param = decl.parameters.find((p) => p.name === candidates[0]);
    return param ? { param } : { common: candidates[0] };
  }
  if (candidates.length > 1) {
    throw new InterchangeError(
      'ICX_PARAM_AMBIGUOUS',
      `Parameter cannot be processed because the parameter name '${typed}' is ambiguous. Possible matches include: ${candidates.map((c) => '-' + c).join(' ')}.`,
      { parameter: typed },
    );
  }
  throw new InterchangeError('ICX_PARAM_UNKNOWN', `A parameter cannot be found that matches parameter name '${typed}'.`, { parameter: typed });
}

/**
 * Binds named and positional arguments the way PowerShell does: names first
 * (prefixes allowed), then positions within the parameter sets still
 * possible, then one set is chosen and its mandatory parameters checked.
 */
export function bindParameters(decl: CmdletDeclaration, named: Record<string, WireValue> = {}, positional: WireValue[] = []): BindingResult {
  const allSets = decl.parameterSets ?? ['Default'];
  const raw = new Map<ParameterDeclaration, WireValue>();
  const common: BindingResult['common'] = {};

  for (const [typed, value] of Object.entries(named)) {
    const { param, common: commonName } = resolveName(decl, typed);
    if (commonName) {
      if (commonName === 'WhatIf') common.whatIf = value !== false;
      if (commonName === 'Confirm') common.confirm = value !== false;
      continue;
    }
    if (!param) continue;
    if (raw.has(param)) {
      throw new InterchangeError('ICX_PARAM_DUPLICATE', `Cannot bind parameter because parameter '${param.name}' is specified more than once.`, { parameter: param.name });
    }
    raw.set(param, value);
  }

  let candidates = allSets.filter((set) => [...raw.keys()].every((p) => setsOf(decl, p).includes(set)));
  if (candidates.length === 0) {
    throw new InterchangeError('ICX_PARAM_SET_AMBIGUOUS', 'Parameter set cannot be resolved using the specified named parameters.');
  }

  for (const value of positional) {
    const open = decl.parameters
      .filter((p) => p.position !== undefined && !raw.has(p) && setsOf(decl, p).some((s) => candidates.includes(s)))
      .sort((a, b) => a.position! - b.position!);
    // Prefer the default set's positional parameter, as PowerShell does when sets disagree.
    const defaultSet = decl.defaultParameterSet ?? allSets[0];
    const target = open.find((p) => setsOf(decl, p).includes(defaultSet) && candidates.includes(defaultSet)) ?? open[0];
    if (!target) {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      throw new InterchangeError('ICX_PARAM_POSITIONAL', `A positional parameter cannot be found that accepts argument '${shown}'.`);
    }
    raw.set(target, value);
    candidates = candidates.filter((set) => setsOf(decl, target).includes(set));
  }

  let chosen: string;
  if (candidates.length === 1) chosen = candidates[0];
  else {
    const satisfied = candidates.filter((set) =>
      decl.parameters.every((p) => !setsOf(decl, p).includes(set) || !isMandatoryIn(p, set) || raw.has(p)),
    );
    const defaultSet = decl.defaultParameterSet ?? allSets[0];
    if (satisfied.includes(defaultSet)) chosen = defaultSet;
    else if (satisfied.length === 1) chosen = satisfied[0];
    else if (candidates.includes(defaultSet)) chosen = defaultSet;
    else throw new InterchangeError('ICX_PARAM_SET_AMBIGUOUS', 'Parameter set cannot be resolved using the specified named parameters.');
  }

  const missing = decl.parameters.filter((p) => setsOf(decl, p).includes(chosen) && isMandatoryIn(p, chosen) && !raw.has(p));
  if (missing.length) {
    throw new InterchangeError(
      'ICX_PARAM_MISSING',
      `Cannot process command because of one or more missing mandatory parameters: ${missing.map((p) => p.name).join(' ')}.`,
      { parameter: missing[0].name },
    );
  }

  const parameters: BoundParameters = {};
  for (const [param, value] of raw) parameters[param.name] = convertValue(param, value);
  return { parameterSetName: chosen, parameters, common };
}
