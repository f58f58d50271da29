import type { CmdletInfo, InvokeRequest, InvokeResponse, ObjectTypeInfo, WireValue } from '../contract.js';
import { InterchangeError, isInterchangeError } from '../../errors/interchange-error.js';
import { holdsRole } from '../../security/roles.js';
import { bindParameters } from './binder.js';
import { type Caller, CmdletContext, type OrganizationServices } from './context.js';
import { type CmdletDeclaration, describeCmdlet } from './declaration.js';

export interface ServiceLogger {
  error(obj: object, msg: string): void;
}

/** Parameter types whose values never reach the audit log. */
const SECRET_TYPES = new Set(['SecureString', 'PSCredential']);

/**
 * The single door every front end goes through: authorization, binding,
 * -WhatIf/-Confirm, execution and the admin audit log.
 */
export class CmdletRunner {
  private readonly byName = new Map<string, CmdletDeclaration>();

  constructor(
    cmdlets: CmdletDeclaration[],
    private readonly types: ObjectTypeInfo[],
    private readonly services: OrganizationServices,
    private readonly logger?: ServiceLogger,
  ) {
    for (const c of cmdlets) this.byName.set(c.name.toLowerCase(), c);
  }

  describe(): { cmdlets: CmdletInfo[]; types: ObjectTypeInfo[] } {
    return { cmdlets: [...this.byName.values()].map(describeCmdlet).sort((a, b) => a.name.localeCompare(b.name)), types: this.types };
  }

  find(name: string): CmdletDeclaration | undefined {
    return this.byName.get(name.toLowerCase());
  }

  async invoke(caller: Caller, name: string, request: InvokeRequest): Promise<InvokeResponse> {
    const decl = this.find(name);
    const cmdletName = decl?.name ?? name;
    const base: InvokeResponse = { ok: false, cmdlet: cmdletName, output: [], warnings: [], whatIf: [], errors: [] };
    if (!decl) {
      const error = new InterchangeError(
        'ICX_CMDLET_UNKNOWN',
        `The term '${name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`,
      );
      return { ...base, error: error.toWire() };
    }

    const readOnly = !decl.changesState;
    const permitted = holdsRole(caller.roleGroups, decl.role) || (readOnly && holdsRole(caller.roleGroups, 'View-Only Configuration'));
    if (!permitted) {
      const error = new InterchangeError(
        'ICX_ACCESS_DENIED',
        `The user "${caller.name}" isn't assigned to any management roles that are included in the "${decl.role}" role, so the cmdlet "${decl.name}" can't be run.`,
      );
      await this.audit(caller, decl, request, null, error);
      return { ...base, error: error.toWire() };
    }

    let ctx: CmdletContext | undefined;
    try {
      const binding = bindParameters(decl, request.parameters ?? {}, request.positional ?? []);
      const whatIf = !!(request.whatIf || binding.common.whatIf);
      ctx = new CmdletContext(this.services, caller, binding.parameterSetName, {
        whatIf: whatIf && decl.changesState,
        confirmed: !!request.confirmed || binding.common.confirm === false,
        confirmPreference: request.confirmPreference ?? 'High',
        confirmSwitch: !!(request.confirm || binding.common.confirm),
        impact: describeCmdlet(decl).confirmImpact,
        answers: request.answers,
      });
      if (caller.checkedDuringOutage) {
        ctx.writeWarning(`The directory cannot be reached: your credential was accepted as ${this.services.localServer} last read it there, and only what ${this.services.localServer} knows without the directory can be done.`);
      }
      const result = await decl.run(ctx, binding.parameters);
      const output = result === undefined ? [] : Array.isArray(result) ? result : [result];
      if (decl.changesState && !ctx.whatIf) await this.audit(caller, decl, request, ctx.objectModified, null);
      return {
        ok: true,
        cmdlet: decl.name,
        output: output as Array<Record<string, unknown>>,
        warnings: ctx.warnings,
        whatIf: ctx.whatIfLines,
        errors: ctx.nonTerminatingErrors,
      };
    } catch (e) {
      const error = isInterchangeError(e) ? e : this.unexpected(decl, e);
      // A prompt is not an attempt: nothing was tried yet, so nothing to audit.
      if (decl.changesState && error.code !== 'ICX_CONFIRMATION_REQUIRED' && !ctx?.whatIf) {
        await this.audit(caller, decl, request, ctx?.objectModified ?? null, error);
      }
      return { ...base, warnings: ctx?.warnings ?? [], whatIf: ctx?.whatIfLines ?? [], errors: ctx?.nonTerminatingErrors ?? [], error: error.toWire() };
    }
  }

  private unexpected(decl: CmdletDeclaration, e: unknown): InterchangeError {
    this.logger?.error({ err: e, cmdlet: decl.name }, 'cmdlet failed unexpectedly');
    return new InterchangeError('ICX_INTERNAL', `${decl.name} failed unexpectedly: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }

  private async audit(caller: Caller, decl: CmdletDeclaration, request: InvokeRequest, objectModified: string | null, error: InterchangeError | null) {
    const row = {
      runDate: this.services.clock(),
      caller: caller.name,
      cmdletName: decl.name,
      cmdletParameters: redact(decl, request),
      objectModified,
      succeeded: error === null,
      error: error ? `${error.code}: ${error.message}` : null,
      originatingServer: this.services.localServer,
    };
    try {
      await this.services.directory.appendAuditLog(row);
    } catch (e) {
      // The audit log lives in the directory; when it cannot be written (an outage, during which local
      // commands still run), the service log keeps the row, so what an administrator did is never unrecorded.
      this.logger?.error({ err: e, auditRow: row }, 'admin audit log write failed; the row is kept here');
    }
  }
}

function redact(decl: CmdletDeclaration, request: InvokeRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const hide = (v: WireValue): unknown => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if ('$secure' in v || '$credential' in v) return '******';
      if ('$bytes' in v) return `<${Buffer.from(String(v.$bytes), 'base64').length} bytes>`;
    }
    return v;
  };
  for (const [name, value] of Object.entries(request.parameters ?? {})) {
    const p = decl.parameters.find((d) => d.name.toLowerCase().startsWith(name.replace(/^-/, '').toLowerCase()));
    out[p?.name ?? name] = p && SECRET_TYPES.has(p.type) ? '******' : hide(value);
  }
  if (request.positional?.length) out['(positional)'] = request.positional.map(hide);
  return boundedForAudit(out);
}

/** An audit row stays small whatever a caller sends (a request body may be 32 MB): long values are cut, and so is the whole. */
const AUDIT_VALUE_CHARS = 1024;
const AUDIT_ITEMS = 64;
const AUDIT_TOTAL_CHARS = 16 * 1024;

export function boundedForAudit(parameters: Record<string, unknown>): Record<string, unknown> {
  const cut = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.length > AUDIT_VALUE_CHARS ? `${v.slice(0, AUDIT_VALUE_CHARS)}… (${v.length} characters)` : v;
    if (v === null || typeof v !== 'object') return v;
    if (depth >= 4) return '…';
    if (Array.isArray(v)) return [...v.slice(0, AUDIT_ITEMS).map((x) => cut(x, depth + 1)), ...(v.length > AUDIT_ITEMS ? [`… (${v.length} items)`] : [])];
    return Object.fromEntries(Object.entries(v).slice(0, AUDIT_ITEMS).map(([k, x]) => [k.slice(0, 128), cut(x, depth + 1)]));
  };
  const bounded = cut(parameters, 0) as Record<string, unknown>;
  const text = JSON.stringify(bounded);
  return text.length <= AUDIT_TOTAL_CHARS ? bounded : { '(truncated)': `${text.slice(0, AUDIT_TOTAL_CHARS)}… (${text.length} characters)` };
}
