// What a new host needs to run a server of the organization: the
// organization's id, the directory's URL and password, and keyvault.key.
// `interchange join` fetches it from a running server instead of an
// administrator copying files by hand. Exchange has no counterpart (its
// servers find the organization in Active Directory); the closest is the
// Edge subscription file, which also carries credentials and is handled as a
// secret.
import fs from 'node:fs';
import path from 'node:path';
import { recordedDirectory } from '../../directory/recorded-directory.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { checkObjectName } from '../../organization/object-name.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';

export const organizationJoinDataType = defineObjectType({
  name: 'OrganizationJoinData',
  properties: [
    { name: 'Server', type: 'String' },
    { name: 'OrganizationGuid', type: 'Guid' },
    { name: 'DirectoryUrl', type: 'String' },
    { name: 'DirectoryPassword', type: 'String' },
    { name: 'KeyVaultKey', type: 'Object' },
  ],
  defaultTableView: ['Server', 'OrganizationGuid', 'DirectoryUrl'],
  defaultListView: ['Server', 'OrganizationGuid', 'DirectoryUrl'],
});

/**
 * The output is the organization's master key: it leaves the server only over
 * TLS, or over loopback, which no network carries. A token sent in clear is
 * already exposed, but the key that seals every private key must not be too.
 */
function refusePlainHttp(ctx: CmdletContext): void {
  const channel = ctx.caller.channel;
  if (channel === 'https' || channel === 'loopback') return;
  throw new InterchangeError(
    'ICX_CHANNEL_NOT_SECURE',
    `Export-OrganizationJoinData answers only over HTTPS or on loopback, and this call reached ${ctx.services.localServer} over plain HTTP from another host: nothing was sent. Call its HTTPS admin address (serve --admin-host <address> without --insecure-admin-http).`,
  );
}

export function organizationJoinCmdlets(): CmdletDeclaration[] {
  return [
    defineCmdlet({
      name: 'Export-OrganizationJoinData',
      synopsis: "Returns what a new host needs to run a server of the organization (the organization's id, the directory URL and password, and keyvault.key); `interchange join` calls it over HTTPS.",
      description:
        'The output holds the key that seals every private key of the organization: it is returned only over HTTPS or on loopback, and the admin audit log records the call (with the server name) but never the output.',
      parameters: [{ name: 'Server', type: 'String', position: 0, mandatory: true, description: 'The name of the server that will run on the new host.' }],
      outputType: 'OrganizationJoinData',
      // Changes nothing, but hands out the organization's key: only Organization Management, never view-only
      // administrators (who may run every cmdlet that changes nothing), and every call is audited.
      role: 'Organization Configuration',
      changesState: true,
      confirmImpact: 'Low',
      examples: [{ code: 'Export-OrganizationJoinData -Server EX02 -WhatIf', remarks: 'Says what would be handed out; `interchange join` is the usual caller.' }],
      async run(ctx, p) {
        refusePlainHttp(ctx);
        const server = checkObjectName(p.Server, 'Server', 15).toUpperCase();
        const { dataDir, directory, localServer } = ctx.services;
        const location = recordedDirectory(dataDir);
        if (location?.kind !== 'postgres') {
          throw new InterchangeError(
            'ICX_DIRECTORY_UNAVAILABLE',
            `The organization's directory is embedded in the data folder of ${localServer}; servers on other hosts need a PostgreSQL directory (prepare-directory, then serve --directory postgres://…).`,
          );
        }
        if (!ctx.shouldProcess(`Handing out the organization's key and directory credentials for server ${server}.`, server)) return;
        const organization = await directory.getOrganization();
        if (!organization) throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The directory ${location.withoutPassword} holds no organization.`);
        const key = fs.readFileSync(path.join(dataDir, 'keyvault.key'));
        return {
          $type: 'OrganizationJoinData',
          Server: server,
          OrganizationGuid: organization.guid,
          DirectoryUrl: location.withoutPassword,
          DirectoryPassword: location.password ?? null,
          KeyVaultKey: { $bytes: key.toString('base64') },
        };
      },
    }),
  ];
}
