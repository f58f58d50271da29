import type { CmdletExample, CmdletInfo, ConfirmImpact, ObjectTypeInfo, ParameterInfo } from '../contract.js';
import type { ManagementRole } from '../../security/roles.js';
import type { CmdletContext } from './context.js';

/** A parameter as declared; the wire's ParameterInfo plus server-only conversion hints. */
export interface ParameterDeclaration extends ParameterInfo {
  /** ByteQuantifiedSize/TimeSpan/Int32 (Exchange's Unlimited<int>): accepts `unlimited` (bound as null). */
  allowUnlimited?: boolean;
  /** Message for a value outside `values`, where Exchange has its own wording ({0} = the value). */
  invalidValueMessage?: string;
  /** Inclusive range for Int32. */
  range?: [number, number];
}

export type BoundValue = unknown;

/**
 * Parameters after binding: canonical names, converted values. A key is
 * present only when the caller gave the parameter, so Set-* cmdlets can tell
 * "not given" from "$null".
 */
export type BoundParameters = Record<string, BoundValue>;

export interface CmdletDeclaration {
  name: string;
  synopsis: string;
  description?: string;
  parameters: ParameterDeclaration[];
  /** Parameter sets; a cmdlet without sets has one named 'Default'. */
  parameterSets?: string[];
  defaultParameterSet?: string;
  outputType?: string;
  role: ManagementRole;
  changesState: boolean;
  confirmImpact?: ConfirmImpact;
  examples?: CmdletExample[];
  run(ctx: CmdletContext, params: BoundParameters): Promise<unknown[] | unknown | void>;
}

export function defineCmdlet(decl: CmdletDeclaration): CmdletDeclaration {
  return decl;
}

export function describeCmdlet(decl: CmdletDeclaration): CmdletInfo {
  const sets = decl.parameterSets ?? ['Default'];
  return {
    name: decl.name,
    synopsis: decl.synopsis,
    description: decl.description,
    parameters: decl.parameters.map(({ allowUnlimited: _a, invalidValueMessage: _i, range: _r, ...info }) => info),
    parameterSets: sets,
    defaultParameterSet: decl.defaultParameterSet ?? sets[0],
    outputType: decl.outputType,
    role: decl.role,
    changesState: decl.changesState,
    confirmImpact: decl.confirmImpact ?? (decl.changesState ? 'Medium' : 'None'),
    examples: decl.examples ?? [],
  };
}

export function defineObjectType(info: ObjectTypeInfo): ObjectTypeInfo {
  return info;
}
