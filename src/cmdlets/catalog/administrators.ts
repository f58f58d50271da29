import crypto from 'node:crypto';
import type { RoleGroup } from '../../directory/records.js';
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
    { name: 'Token', type: 'String' },
  ],
  defaultTableView: ['Name', 'RoleGroups', 'WhenCreated'],
  defaultListView: ['Name', 'RoleGroups', 'WhenCreated', 'Token'],
});

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
      ],
      outputType: 'AdministratorCredential',
      role: 'Role Management',
      changesState: true,
      confirmImpact: 'Medium',
      examples: [{ code: 'New-AdministratorCredential -Name helpdesk -RoleGroup "View-Only Organization Management"', remarks: 'A read-only credential for the help desk.' }],
      async run(ctx, p) {
        const name = String(p.Name).trim();
        if (!name) throw new InterchangeError('ICX_PARAM_INVALID', 'The name must not be empty.', { parameter: 'Name' });
        if (!ctx.shouldProcess(`Creating administrator credential "${name}".`, name)) return;
        const token = newToken();
        const record = { id: crypto.randomUUID(), name, tokenHash: hashToken(token), roleGroups: p.RoleGroup as RoleGroup[], createdAt: ctx.services.clock() };
        await ctx.services.directory.exclusive(async (tx) => {
          if ((await tx.listAdministrators()).some((a) => a.name.toLowerCase() === name.toLowerCase())) {
            throw new InterchangeError('ICX_OBJECT_EXISTS', `An administrator credential named "${name}" already exists.`, { parameter: 'Name' });
          }
          await tx.insertAdministrator(record);
        });
        return { $type: 'AdministratorCredential', Name: name, RoleGroups: record.roleGroups, WhenCreated: record.createdAt, Token: token };
      },
    }),
    defineCmdlet({
      name: 'Get-AdministratorCredential',
      synopsis: 'Lists administrator credentials and their role groups (never their tokens).',
      parameters: [],
      outputType: 'AdministratorCredential',
      role: 'Role Management',
      changesState: false,
      examples: [{ code: 'Get-AdministratorCredential', remarks: 'Who can manage the organization.' }],
      async run(ctx) {
        return (await ctx.services.directory.listAdministrators()).map((a) => ({ $type: 'AdministratorCredential', Name: a.name, RoleGroups: a.roleGroups, WhenCreated: a.createdAt, Token: null }));
      },
    }),
  ];
}
