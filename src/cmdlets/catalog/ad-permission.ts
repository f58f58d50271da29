// Get-, Add- and Remove-ADPermission for Receive connectors: the rights a
// connector grants SMTP sessions, beyond what its PermissionGroups give. The
// common use is Exchange's anonymous relay connector:
//   Get-ReceiveConnector "Relay" | Add-ADPermission -User "NT AUTHORITY\ANONYMOUS LOGON" -ExtendedRights "ms-Exch-SMTP-Accept-Any-Recipient"
// Interchange has no Active Directory, so only Receive connectors carry such entries.
import { connectorPermissionEntries, GRANTABLE_PRINCIPALS, SMTP_EXTENDED_RIGHTS } from '../../connectors/receive-permissions.js';
import type { ReceiveConnectorPermissionEntry, ReceiveConnectorRecord, SmtpExtendedRight } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type BoundParameters, type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { findReceiveConnector } from './receive-connector.js';

export const adPermissionType = defineObjectType({
  name: 'ADAcePresentationObject',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'User', type: 'String' },
    { name: 'AccessRights', type: 'String', multiValued: true },
    { name: 'ExtendedRights', type: 'String', multiValued: true },
    { name: 'Deny', type: 'Boolean' },
    { name: 'IsInherited', type: 'Boolean' },
    { name: 'InheritanceType', type: 'String' },
    { name: 'PermissionGroup', type: 'String' },
  ],
  defaultTableView: ['Identity', 'User', 'Deny', 'IsInherited'],
  defaultListView: [],
});

/** Exchange shows one entry per extended right. */
function toAceObjects(c: ReceiveConnectorRecord, e: ReceiveConnectorPermissionEntry & { group?: string }) {
  return e.extendedRights.map((right) => ({
    $type: 'ADAcePresentationObject',
    Identity: `${c.server}\\${c.name}`,
    User: e.user,
    AccessRights: ['ExtendedRight'],
    ExtendedRights: [right],
    Deny: e.deny,
    IsInherited: false,
    InheritanceType: 'None',
    PermissionGroup: e.group ?? null,
  }));
}

function principal(value: unknown): string {
  const text = String(value ?? '').trim();
  const known = GRANTABLE_PRINCIPALS.find((p) => p.toLowerCase() === text.toLowerCase());
  if (!known) {
    throw new InterchangeError('ICX_PARAM_INVALID', `The user "${text}" wasn't found. Receive connector rights can be granted to ${GRANTABLE_PRINCIPALS.join(', ')}.`, { parameter: 'User' });
  }
  return known;
}

function extendedRights(value: unknown): SmtpExtendedRight[] {
  const wanted = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v ?? '').split(',')).map((v) => v.trim()).filter(Boolean);
  if (wanted.length === 0) throw new InterchangeError('ICX_PARAM_INVALID', 'Name at least one extended right.', { parameter: 'ExtendedRights' });
  return wanted.map((w) => {
    const known = SMTP_EXTENDED_RIGHTS.find((r) => r.right.toLowerCase() === w.toLowerCase());
    if (!known) {
      throw new InterchangeError('ICX_PARAM_INVALID', `The extended right "${w}" isn't one a Receive connector grants. Use one of: ${SMTP_EXTENDED_RIGHTS.map((r) => r.right).join(', ')}.`, { parameter: 'ExtendedRights' });
    }
    return known.right;
  });
}

/** What Add- and Remove-ADPermission act on: the connector and one entry's principal, rights and kind. */
async function entryRequest(ctx: CmdletContext, p: BoundParameters) {
  const connector = await findReceiveConnector(ctx.services.directory, p.Identity as string, ctx.services.localServer);
  return { connector, user: principal(p.User), rights: extendedRights(p.ExtendedRights), deny: p.Deny === true };
}

/** Rewrites the connector's added entries from a fresh read inside the directory's write lock. */
async function editEntries(ctx: CmdletContext, c: ReceiveConnectorRecord, edit: (entries: ReceiveConnectorPermissionEntry[]) => ReceiveConnectorPermissionEntry[]): Promise<void> {
  await ctx.services.directory.exclusive(async (tx) => {
    const current = await findReceiveConnector(tx, c.guid, ctx.services.localServer);
    const entries = (current.permissions ?? []).map((e) => ({ ...e, extendedRights: [...e.extendedRights] }));
    await tx.updateReceiveConnector({ ...current, permissions: edit(entries).filter((e) => e.extendedRights.length > 0), whenChanged: ctx.services.clock() });
  });
}

const identity: ParameterDeclaration = {
  name: 'Identity',
  type: 'String',
  position: 0,
  mandatory: true,
  valueFromPipeline: true,
  valueFromPipelineByPropertyName: true,
  description: 'The Receive connector: Server\\Name, a name on the connected server, or its GUID.',
};

const userParameter = (mandatory: boolean): ParameterDeclaration => ({
  name: 'User',
  type: 'String',
  mandatory,
  description: `Who the entry is for: ${GRANTABLE_PRINCIPALS.join(', ')}.`,
});

const rightsParameter: ParameterDeclaration = {
  name: 'ExtendedRights',
  type: 'String',
  multiValued: true,
  mandatory: true,
  description: `Extended rights, e.g. ms-Exch-SMTP-Accept-Any-Recipient (relay to any domain). One of: ${SMTP_EXTENDED_RIGHTS.map((r) => r.right).join(', ')}.`,
};

export function adPermissionCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-ADPermission',
    synopsis: "Lists the rights a Receive connector grants SMTP sessions: its permission groups' and those added with Add-ADPermission.",
    parameters: [identity, userParameter(false)],
    outputType: 'ADAcePresentationObject',
    role: 'Active Directory Permissions',
    changesState: false,
    examples: [
      {
        code: 'Get-ADPermission -Identity "EX01\\Relay" | where {$_.ExtendedRights -like "ms-Exch-SMTP-Accept-Any-Recipient"} | Format-Table Identity,User,Deny',
        remarks: 'Who may relay through the connector.',
      },
    ],
    async run(ctx, p) {
      const c = await findReceiveConnector(ctx.services.directory, p.Identity as string, ctx.services.localServer);
      const user = p.User === undefined ? undefined : String(p.User).trim().toLowerCase();
      return connectorPermissionEntries(c)
        .filter((e) => user === undefined || e.user.toLowerCase() === user)
        .flatMap((e) => toAceObjects(c, e));
    },
  });

  const add = defineCmdlet({
    name: 'Add-ADPermission',
    synopsis: 'Grants SMTP sessions on a Receive connector an extended right, e.g. relaying for anonymous senders.',
    parameters: [identity, userParameter(true), rightsParameter, { name: 'Deny', type: 'SwitchParameter', description: 'Deny the rights instead; a deny entry wins over any grant.' }],
    outputType: 'ADAcePresentationObject',
    role: 'Active Directory Permissions',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      {
        code: 'Get-ReceiveConnector "Relay" | Add-ADPermission -User "NT AUTHORITY\\ANONYMOUS LOGON" -ExtendedRights "ms-Exch-SMTP-Accept-Any-Recipient"',
        remarks: 'Anonymous senders that reach the Relay connector (limit it with RemoteIPRanges) may send to any domain.',
      },
    ],
    async run(ctx, p) {
      const { connector: c, user, rights, deny } = await entryRequest(ctx, p);
      if (!ctx.shouldProcess(`Adding Active Directory permission for "${user}" (${rights.join(', ')}${deny ? ', deny' : ''}).`, `${c.server}\\${c.name}`)) return;
      await editEntries(ctx, c, (entries) => {
        let mine = entries.find((e) => e.user === user && e.deny === deny);
        if (!mine) entries.push((mine = { user, extendedRights: [], deny }));
        for (const r of rights) if (!mine.extendedRights.includes(r)) mine.extendedRights.push(r);
        return entries;
      });
      return toAceObjects(c, { user, extendedRights: rights, deny });
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-ADPermission',
    synopsis: 'Takes back rights granted on a Receive connector with Add-ADPermission.',
    parameters: [identity, userParameter(true), rightsParameter, { name: 'Deny', type: 'SwitchParameter', description: 'Remove a deny entry.' }],
    role: 'Active Directory Permissions',
    changesState: true,
    confirmImpact: 'High',
    examples: [
      {
        code: 'Remove-ADPermission -Identity "EX01\\Relay" -User "NT AUTHORITY\\ANONYMOUS LOGON" -ExtendedRights "ms-Exch-SMTP-Accept-Any-Recipient"',
        remarks: 'Anonymous senders may no longer relay through the connector.',
      },
    ],
    async run(ctx, p) {
      const { connector: c, user, rights, deny } = await entryRequest(ctx, p);
      const explicit = (c.permissions ?? []).find((e) => e.user === user && e.deny === deny);
      for (const r of rights) {
        if (explicit?.extendedRights.includes(r)) continue;
        const fromGroup = connectorPermissionEntries(c).find((e) => e.group && e.user === user && e.extendedRights.includes(r));
        if (fromGroup && !deny) {
          throw new InterchangeError('ICX_PERMISSION_FROM_GROUP', `"${user}" holds ${r} on "${c.server}\\${c.name}" through the permission group ${fromGroup.group}. Change the connector's PermissionGroups with Set-ReceiveConnector instead.`);
        }
        throw new InterchangeError('ICX_OBJECT_NOT_FOUND', `No entry on "${c.server}\\${c.name}" ${deny ? 'denies' : 'grants'} "${user}" the extended right ${r}.`);
      }
      if (!ctx.shouldProcess(`Removing Active Directory permission for "${user}" (${rights.join(', ')}).`, `${c.server}\\${c.name}`)) return;
      await editEntries(ctx, c, (entries) =>
        entries.map((e) => (e.user === user && e.deny === deny ? { ...e, extendedRights: e.extendedRights.filter((r) => !rights.includes(r)) } : e)),
      );
    },
  });

  return [get, add, remove];
}
