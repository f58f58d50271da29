// Accepted domains: the SMTP namespaces the organization takes mail for from
// anyone. Anonymous mail to any other domain is refused with 550 5.7.54 unless
// the Receive connector grants ms-Exch-SMTP-Accept-Any-Recipient.
import crypto from 'node:crypto';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { AcceptedDomainRecord, AcceptedDomainType } from '../../directory/records.js';
import { checkObjectName } from '../../organization/object-name.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseAcceptedDomainName } from '../../organization/accepted-domains.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { identityError, sameText } from './common.js';

const DOMAIN_TYPES: AcceptedDomainType[] = ['Authoritative', 'InternalRelay', 'ExternalRelay'];

export const acceptedDomainType = defineObjectType({
  name: 'AcceptedDomain',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'Name', type: 'String' },
    { name: 'DomainName', type: 'String' },
    { name: 'DomainType', type: 'String' },
    { name: 'Default', type: 'Boolean' },
    { name: 'MatchSubDomains', type: 'Boolean' },
    { name: 'AddressBookEnabled', type: 'Boolean' },
    { name: 'Guid', type: 'Guid' },
    { name: 'WhenChanged', type: 'DateTime' },
    { name: 'WhenCreated', type: 'DateTime' },
  ],
  defaultTableView: ['Name', 'DomainName', 'DomainType', 'Default'],
  defaultListView: [],
});

export function toAcceptedDomainObject(d: AcceptedDomainRecord) {
  return {
    $type: 'AcceptedDomain',
    Identity: d.name,
    Name: d.name,
    DomainName: d.domainName,
    DomainType: d.domainType,
    Default: d.default,
    MatchSubDomains: d.matchSubDomains,
    // Exchange turns recipient lookup on for authoritative domains only.
    AddressBookEnabled: d.domainType === 'Authoritative',
    Guid: d.guid,
    WhenChanged: d.whenChanged,
    WhenCreated: d.whenCreated,
  };
}

/** Exchange's AcceptedDomainIdParameter: the name, the domain or the GUID, any case. */
export async function findAcceptedDomain(directory: DirectoryStore, identity: string): Promise<AcceptedDomainRecord> {
  const wanted = identity.trim();
  const d = (await directory.listAcceptedDomains()).find((x) => x.guid === wanted.toLowerCase() || sameText(x.name, wanted) || sameText(x.domainName, wanted));
  if (!d) throw identityError('accepted domains', identity);
  return d;
}

const checkName = (value: unknown): string => checkObjectName(value);

const identity = (mandatory: boolean): ParameterDeclaration => ({
  name: 'Identity',
  type: 'String',
  position: 0,
  mandatory,
  valueFromPipeline: true,
  valueFromPipelineByPropertyName: true,
  description: 'The accepted domain: its name, its domain or its GUID.',
});

export function acceptedDomainCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-AcceptedDomain',
    synopsis: 'Lists the accepted domains: the domains the organization takes mail for from anyone.',
    parameters: [identity(false)],
    outputType: 'AcceptedDomain',
    role: 'Remote and Accepted Domains',
    changesState: false,
    examples: [{ code: 'Get-AcceptedDomain', remarks: 'Every accepted domain, the default one marked.' }],
    async run(ctx, p) {
      if (p.Identity === undefined) return (await ctx.services.directory.listAcceptedDomains()).map(toAcceptedDomainObject);
      return [toAcceptedDomainObject(await findAcceptedDomain(ctx.services.directory, p.Identity as string))];
    },
  });

  const create = defineCmdlet({
    name: 'New-AcceptedDomain',
    synopsis: 'Adds an accepted domain: anonymous senders may then send to it through Receive connectors with AnonymousUsers.',
    description:
      'Mail to a domain that is not accepted is relayed only for sessions that hold ms-Exch-SMTP-Accept-Any-Recipient ' +
      '(ExchangeUsers after SMTP AUTH, or Add-ADPermission); anonymous senders get 550 5.7.54. The first accepted domain becomes the default.',
    parameters: [
      { name: 'Name', type: 'String', mandatory: true, description: 'A unique name for the accepted domain.' },
      { name: 'DomainName', type: 'String', mandatory: true, description: 'The domain, e.g. contoso.com, or *.contoso.com for it and all its subdomains.' },
      { name: 'DomainType', type: 'Enum', values: DOMAIN_TYPES, description: 'Authoritative (default), InternalRelay or ExternalRelay. All three take anonymous mail; routing follows the Send connectors.' },
    ],
    outputType: 'AcceptedDomain',
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'New-AcceptedDomain -Name "Contoso" -DomainName contoso.com', remarks: 'Mail from anyone to @contoso.com is accepted.' }],
    async run(ctx, p) {
      const name = checkName(p.Name);
      const domainName = parseAcceptedDomainName(p.DomainName);
      const now = ctx.services.clock();
      if (!ctx.shouldProcess(`Creating accepted domain "${name}" with domain name "${domainName}".`, name)) return;
      return ctx.services.directory.exclusive(async (tx) => {
        const record: AcceptedDomainRecord = {
          guid: crypto.randomUUID(),
          name,
          domainName,
          domainType: (p.DomainType as AcceptedDomainType | undefined) ?? 'Authoritative',
          default: (await tx.listAcceptedDomains()).length === 0,
          matchSubDomains: false,
          whenCreated: now,
          whenChanged: now,
        };
        await tx.insertAcceptedDomain(record);
        return toAcceptedDomainObject(record);
      });
    },
  });

  const set = defineCmdlet({
    name: 'Set-AcceptedDomain',
    synopsis: 'Changes an accepted domain: its type, name, whether it is the default, whether it covers subdomains.',
    parameters: [
      identity(true),
      { name: 'Name', type: 'String', description: 'A new name.' },
      { name: 'DomainType', type: 'Enum', values: DOMAIN_TYPES, description: 'Authoritative, InternalRelay or ExternalRelay.' },
      { name: 'MakeDefault', type: 'Boolean', description: '$true makes this the default accepted domain; another domain stops being the default.' },
      { name: 'MatchSubDomains', type: 'Boolean', description: '$true accepts mail for every subdomain too.' },
    ],
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Set-AcceptedDomain -Identity Contoso -MakeDefault $true', remarks: 'Contoso becomes the default accepted domain.' }],
    async run(ctx, p) {
      const current = await findAcceptedDomain(ctx.services.directory, p.Identity as string);
      const next: AcceptedDomainRecord = { ...current, whenChanged: ctx.services.clock() };
      if (p.Name !== undefined) next.name = checkName(p.Name);
      if (p.DomainType !== undefined) next.domainType = p.DomainType as AcceptedDomainType;
      if (p.MatchSubDomains !== undefined) next.matchSubDomains = p.MatchSubDomains as boolean;
      if (p.MakeDefault === false && current.default) {
        throw new InterchangeError('ICX_PARAM_INVALID', `"${current.name}" is the default accepted domain. To change the default, run Set-AcceptedDomain -MakeDefault $true on another accepted domain.`, { parameter: 'MakeDefault' });
      }
      if (p.MakeDefault === true) next.default = true;
      if (!ctx.shouldProcess(`Configuring accepted domain "${current.name}".`, current.name)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        if (next.default && !current.default) {
          for (const other of await tx.listAcceptedDomains()) {
            if (other.default && other.guid !== next.guid) await tx.updateAcceptedDomain({ ...other, default: false, whenChanged: next.whenChanged });
          }
        }
        await tx.updateAcceptedDomain(next);
      });
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-AcceptedDomain',
    synopsis: 'Removes an accepted domain; anonymous mail to it is then refused.',
    parameters: [identity(true)],
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-AcceptedDomain -Identity Fabrikam', remarks: 'Removes the accepted domain after confirmation.' }],
    async run(ctx, p) {
      const d = await findAcceptedDomain(ctx.services.directory, p.Identity as string);
      if (d.default && (await ctx.services.directory.listAcceptedDomains()).length > 1) {
        throw new InterchangeError('ICX_ACCEPTED_DOMAIN_DEFAULT', `The accepted domain "${d.name}" is the default accepted domain and can't be removed. Make another accepted domain the default first (Set-AcceptedDomain -MakeDefault $true).`);
      }
      if (!ctx.shouldProcess(`Removing accepted domain "${d.name}".`, d.name)) return;
      await ctx.services.directory.deleteAcceptedDomain(d.guid);
    },
  });

  return [get, create, set, remove];
}
