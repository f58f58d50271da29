import crypto from 'node:crypto';
import type { DirectoryStore } from '../../directory/directory-store.js';
import { type AdministratorRecord, administratorIsValid, type RoleGroup } from '../../directory/records.js';
import { checkObjectName } from '../../organization/object-name.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { ROLE_GROUP_NAMES } from '../../security/roles.js';
import { hashToken, newToken } from '../../security/tokens.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';

export const administratorType = defineObjectType({
  name: 'AdministratorCredential',
  properties: [
    { name: 'Name', type: 'String' },
    { name: 'RoleGroups', type: 'String', multiValued: true },
    { name: 'WhenCreated', type: 'DateTime' },
    { name: 'ExpirationTime', type: 'DateTime' },
    { name: 'Token', type: 'String' },
  ],
  defaultTableView: ['Name', 'RoleGroups', 'WhenCreated', 'ExpirationTime'],
  defaultListView: ['Name', 'RoleGroups', 'WhenCreated', 'ExpirationTime', 'Token'],
});

const view = (a: AdministratorRecord, token: string | null = null) => ({ $type: 'AdministratorCredential', Name: a.name, RoleGroups: a.roleGroups, WhenCreated: a.createdAt, ExpirationTime: a.expiresAt ?? null, Token: token });

const identityParam = { name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'The credential\'s name.' } as const;
const expirationParam = { name: 'ExpirationTime', type: 'DateTime', nullable: true, description: 'From this moment the token is refused on every server; $null: it never expires.' } as const;

async function findAdministrator(tx: DirectoryStore, identity: string): Promise<AdministratorRecord> {
  const found = (await tx.listAdministrators()).find((a) => a.name.toLowerCase() === identity.trim().toLowerCase());
  if (!found) throw new InterchangeError('ICX_OBJECT_NOT_FOUND', `The administrator credential "${identity}" couldn't be found.`, { parameter: 'Identity' });
  return found;
}

/**
 * Removing, expiring or demoting the last credential that can still manage
 * role groups would leave nobody able to create another: refused, as a
 * change that cannot be undone from the product.
 */
function assertNotLastOrganizationAdmin(all: AdministratorRecord[], after: AdministratorRecord | undefined, changedId: string, now: Date): void {
  const others = all.filter((a) => a.id !== changedId);
  const remaining = after ? [...others, after] : others;
  const manages = (a: AdministratorRecord) => a.roleGroups.includes('Organization Management') && administratorIsValid(a, now);
  if (all.some(manages) && !remaining.some(manages)) {
    throw new InterchangeError('ICX_LAST_ORGANIZATION_ADMIN', 'This is the last valid credential in Organization Management; create another one (New-AdministratorCredential) before you remove, expire or demote it.');
  }
}

/**
 * Interchange has no Active Directory to hold administrators, so role group
 * membership is given to named credentials (bearer tokens) instead.
 */
export function administratorCmdlets(): CmdletDeclaration[] {
  return [
    defineCmdlet({
      name: 'New-AdministratorCredential',
      synopsis: 'Creates an administrator credential in a role group; its token is shown once.',
      parameters: [
        { name: 'Name', type: 'String', position: 0, mandatory: true, description: 'Who the credential is for; shown as Caller in the audit log.' },
        { name: 'RoleGroup', type: 'Enum', values: ROLE_GROUP_NAMES, multiValued: true, mandatory: true, description: 'Organization Management, Server Management, Recipient Management or View-Only Organization Management.' },
        expirationParam,
      ],
      outputType: 'AdministratorCredential',
      role: 'Role Management',
      changesState: true,
      confirmImpact: 'Medium',
      examples: [{ code: 'New-AdministratorCredential -Name helpdesk -RoleGroup "View-Only Organization Management"', remarks: 'A read-only credential for the help desk.' }],
      async run(ctx, p) {
        const name = checkObjectName(p.Name);
        if (!ctx.shouldProcess(`Creating administrator credential "${name}".`, name)) return;
        const token = newToken();
        const expiresAt = (p.ExpirationTime as Date | null | undefined) ?? null;
        if (expiresAt && expiresAt.getTime() <= ctx.services.clock().getTime()) throw new InterchangeError('ICX_PARAM_INVALID', 'The expiration time must be in the future.', { parameter: 'ExpirationTime' });
        const record: AdministratorRecord = { id: crypto.randomUUID(), name, tokenHash: hashToken(token), roleGroups: p.RoleGroup as RoleGroup[], createdAt: ctx.services.clock(), expiresAt };
        await ctx.services.directory.exclusive(async (tx) => {
          if ((await tx.listAdministrators()).some((a) => a.name.toLowerCase() === name.toLowerCase())) {
            throw new InterchangeError('ICX_OBJECT_EXISTS', `An administrator credential named "${name}" already exists.`, { parameter: 'Name' });
          }
          await tx.insertAdministrator(record);
        });
        return view(record, token);
      },
    }),
    defineCmdlet({
      name: 'Get-AdministratorCredential',
      synopsis: 'Lists administrator credentials and their role groups (never their tokens).',
      parameters: [{ ...identityParam, mandatory: false }],
      outputType: 'AdministratorCredential',
      role: 'Role Management',
      changesState: false,
      examples: [{ code: 'Get-AdministratorCredential', remarks: 'Who can manage the organization, and until when.' }],
      async run(ctx, p) {
        if (typeof p.Identity === 'string') return view(await findAdministrator(ctx.services.directory, p.Identity));
        return (await ctx.services.directory.listAdministrators()).map((a) => view(a));
      },
    }),
    defineCmdlet({
      name: 'Set-AdministratorCredential',
      synopsis: 'Changes the role groups or the expiration time of an administrator credential; takes effect on every server at its next request.',
      parameters: [
        identityParam,
        { name: 'RoleGroup', type: 'Enum', values: ROLE_GROUP_NAMES, multiValued: true, description: 'The role groups the credential is in from now on.' },
        expirationParam,
      ],
      role: 'Role Management',
      changesState: true,
      confirmImpact: 'Medium',
      examples: [{ code: 'Set-AdministratorCredential helpdesk -ExpirationTime (Get-Date).AddDays(30)', remarks: 'The help desk token stops working in 30 days.' }],
      async run(ctx, p) {
        await ctx.services.directory.exclusive(async (tx) => {
          const all = await tx.listAdministrators();
          const current = await findAdministrator(tx, p.Identity as string);
          const next: AdministratorRecord = { ...current };
          if (p.RoleGroup !== undefined) next.roleGroups = p.RoleGroup as RoleGroup[];
          if (p.ExpirationTime !== undefined) next.expiresAt = p.ExpirationTime as Date | null;
          assertNotLastOrganizationAdmin(all, next, current.id, ctx.services.clock());
          if (!ctx.shouldProcess(`Configuring administrator credential "${current.name}".`, current.name)) return;
          await tx.updateAdministrator(next);
          ctx.objectModified = current.name;
        });
      },
    }),
    defineCmdlet({
      name: 'Remove-AdministratorCredential',
      synopsis: 'Revokes an administrator credential: its token and its admin center sessions are refused on every server from the next request.',
      parameters: [identityParam],
      role: 'Role Management',
      changesState: true,
      confirmImpact: 'High',
      examples: [{ code: 'Remove-AdministratorCredential helpdesk', remarks: 'Revokes the help desk token.' }],
      async run(ctx, p) {
        await ctx.services.directory.exclusive(async (tx) => {
          const all = await tx.listAdministrators();
          const current = await findAdministrator(tx, p.Identity as string);
          assertNotLastOrganizationAdmin(all, undefined, current.id, ctx.services.clock());
          if (!ctx.shouldProcess(`Removing administrator credential "${current.name}"; its token stops working at once.`, current.name)) return;
          await tx.deleteAdministrator(current.id);
          ctx.objectModified = current.name;
        });
      },
    }),
  ];
}
