// Remote domains: message format and policy for mail to domains outside the
// organization. `Default` (DomainName `*`) is in every organization, covers
// every domain no other remote domain names, and cannot be removed.
import crypto from 'node:crypto';
import type { DirectoryStore } from '../../directory/directory-store.js';
import {
  type AllowedOOFType,
  type ByteEncoderTypeFor7BitCharsets,
  DEFAULT_REMOTE_DOMAIN_NAME,
  newRemoteDomain,
  type RemoteDomainContentType,
  type RemoteDomainRecord,
} from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseAcceptedDomainName } from '../../organization/accepted-domains.js';
import { checkObjectName } from '../../organization/object-name.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { identityError, sameText } from './common.js';

const OOF_TYPES: AllowedOOFType[] = ['External', 'ExternalLegacy', 'InternalLegacy', 'None'];
const CONTENT_TYPES: RemoteDomainContentType[] = ['MimeHtmlText', 'MimeText', 'MimeHtml'];
const BYTE_ENCODERS: ByteEncoderTypeFor7BitCharsets[] = [
  'Undefined',
  'Use7Bit',
  'UseQP',
  'UseBase64',
  'UseQPHtmlDetectTextPlain',
  'UseBase64HtmlDetectTextPlain',
  'UseQPHtml7BitTextPlain',
  'UseBase64Html7BitTextPlain',
];

/** What transport acts on; every other property is kept and shown for scripts that set it, as Get-Help says. */
const STORED_ONLY =
  'Interchange acts on NDREnabled and DeliveryReportEnabled (whether the DSNs it makes are sent to a sender in the domain). ' +
  'AllowedOOFType, AutoReplyEnabled, AutoForwardEnabled, TNEFEnabled, CharacterSet, NonMimeCharacterSet, ContentType, IsInternal, ' +
  'TrustedMailOutboundEnabled, TrustedMailInboundEnabled, ByteEncoderTypeFor7BitCharsets, LineWrapSize, DisplaySenderName, ' +
  'MeetingForwardNotificationEnabled, UseSimpleDisplayName and NDRDiagnosticInfoEnabled are stored only: Interchange has no mailboxes ' +
  'that send automatic replies or forwards, and passes messages on without converting their content.';

export const remoteDomainType = defineObjectType({
  name: 'RemoteDomain',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'Name', type: 'String' },
    { name: 'DomainName', type: 'String' },
    { name: 'AllowedOOFType', type: 'String' },
    { name: 'AutoForwardEnabled', type: 'Boolean' },
    { name: 'AutoReplyEnabled', type: 'Boolean' },
    { name: 'ByteEncoderTypeFor7BitCharsets', type: 'String' },
    { name: 'CharacterSet', type: 'String' },
    { name: 'ContentType', type: 'String' },
    { name: 'DeliveryReportEnabled', type: 'Boolean' },
    { name: 'DisplaySenderName', type: 'Boolean' },
    { name: 'IsInternal', type: 'Boolean' },
    { name: 'LineWrapSize', type: 'Object' },
    { name: 'MeetingForwardNotificationEnabled', type: 'Boolean' },
    { name: 'NDRDiagnosticInfoEnabled', type: 'Boolean' },
    { name: 'NDREnabled', type: 'Boolean' },
    { name: 'NonMimeCharacterSet', type: 'String' },
    { name: 'TNEFEnabled', type: 'Object' },
    { name: 'TrustedMailInboundEnabled', type: 'Boolean' },
    { name: 'TrustedMailOutboundEnabled', type: 'Boolean' },
    { name: 'UseSimpleDisplayName', type: 'Boolean' },
    { name: 'Guid', type: 'Guid' },
    { name: 'WhenChanged', type: 'DateTime' },
    { name: 'WhenCreated', type: 'DateTime' },
  ],
  defaultTableView: ['Name', 'DomainName', 'AllowedOOFType'],
  defaultListView: [],
});

export function toRemoteDomainObject(d: RemoteDomainRecord) {
  return {
    $type: 'RemoteDomain',
    Identity: d.name,
    Name: d.name,
    DomainName: d.domainName,
    AllowedOOFType: d.allowedOOFType,
    AutoForwardEnabled: d.autoForwardEnabled,
    AutoReplyEnabled: d.autoReplyEnabled,
    ByteEncoderTypeFor7BitCharsets: d.byteEncoderTypeFor7BitCharsets,
    CharacterSet: d.characterSet,
    ContentType: d.contentType,
    DeliveryReportEnabled: d.deliveryReportEnabled,
    DisplaySenderName: d.displaySenderName,
    IsInternal: d.isInternal,
    LineWrapSize: d.lineWrapSize === null ? 'Unlimited' : d.lineWrapSize,
    MeetingForwardNotificationEnabled: d.meetingForwardNotificationEnabled,
    NDRDiagnosticInfoEnabled: d.ndrDiagnosticInfoEnabled,
    NDREnabled: d.ndrEnabled,
    NonMimeCharacterSet: d.nonMimeCharacterSet,
    TNEFEnabled: d.tnefEnabled,
    TrustedMailInboundEnabled: d.trustedMailInboundEnabled,
    TrustedMailOutboundEnabled: d.trustedMailOutboundEnabled,
    UseSimpleDisplayName: d.useSimpleDisplayName,
    Guid: d.guid,
    WhenChanged: d.whenChanged,
    WhenCreated: d.whenCreated,
  };
}

/** Exchange's RemoteDomainIdParameter: the name, the domain or the GUID, any case. */
export async function findRemoteDomain(directory: DirectoryStore, identity: string): Promise<RemoteDomainRecord> {
  const wanted = identity.trim();
  const d = (await directory.listRemoteDomains()).find((x) => x.guid === wanted.toLowerCase() || sameText(x.name, wanted) || sameText(x.domainName, wanted));
  if (!d) throw identityError('remote domains', identity);
  return d;
}

const identity = (mandatory: boolean): ParameterDeclaration => ({
  name: 'Identity',
  type: 'String',
  position: 0,
  mandatory,
  valueFromPipeline: true,
  valueFromPipelineByPropertyName: true,
  description: 'The remote domain: its name, its domain or its GUID.',
});

/** New- and Set-RemoteDomain's settings, mapped to the record. */
const settable: Array<{ param: ParameterDeclaration; field: keyof RemoteDomainRecord }> = [
  { field: 'allowedOOFType', param: { name: 'AllowedOOFType', type: 'Enum', values: OOF_TYPES, description: 'Which automatic replies may go to the domain: External (default), ExternalLegacy, InternalLegacy or None. Stored only.' } },
  { field: 'autoReplyEnabled', param: { name: 'AutoReplyEnabled', type: 'Boolean', description: 'Whether automatic replies may go to the domain. Stored only.' } },
  { field: 'autoForwardEnabled', param: { name: 'AutoForwardEnabled', type: 'Boolean', description: 'Whether automatically forwarded messages may go to the domain. Stored only.' } },
  { field: 'deliveryReportEnabled', param: { name: 'DeliveryReportEnabled', type: 'Boolean', description: 'Whether delivery and delay reports (DSNs other than NDRs) go to senders in the domain. Default $true.' } },
  { field: 'ndrEnabled', param: { name: 'NDREnabled', type: 'Boolean', description: 'Whether non-delivery reports go to senders in the domain. Default $true.' } },
  { field: 'tnefEnabled', param: { name: 'TNEFEnabled', type: 'Boolean', nullable: true, description: 'TNEF (winmail.dat) to the domain: $true, $false, or $null for the sender to decide. Stored only.' } },
  { field: 'characterSet', param: { name: 'CharacterSet', type: 'String', nullable: true, description: 'Character set of MIME messages to the domain, e.g. iso-8859-1. Stored only.' } },
  { field: 'nonMimeCharacterSet', param: { name: 'NonMimeCharacterSet', type: 'String', nullable: true, description: 'Character set of non-MIME messages to the domain. Stored only.' } },
  { field: 'contentType', param: { name: 'ContentType', type: 'Enum', values: CONTENT_TYPES, description: 'MimeHtmlText (default), MimeText or MimeHtml. Stored only.' } },
  { field: 'isInternal', param: { name: 'IsInternal', type: 'Boolean', description: 'Treat the domain as part of the organization. Stored only.' } },
  { field: 'trustedMailOutboundEnabled', param: { name: 'TrustedMailOutboundEnabled', type: 'Boolean', description: 'Mark mail to the domain as trusted. Stored only.' } },
  { field: 'trustedMailInboundEnabled', param: { name: 'TrustedMailInboundEnabled', type: 'Boolean', description: 'Treat mail from the domain as trusted. Stored only.' } },
  { field: 'byteEncoderTypeFor7BitCharsets', param: { name: 'ByteEncoderTypeFor7BitCharsets', type: 'Enum', values: BYTE_ENCODERS, description: 'Transfer encoding for 7-bit text. Default Undefined. Stored only.' } },
  { field: 'lineWrapSize', param: { name: 'LineWrapSize', type: 'Int32', allowUnlimited: true, range: [0, 132], description: 'Line length of messages to the domain (0 to 132, or unlimited, the default). Stored only.' } },
  { field: 'displaySenderName', param: { name: 'DisplaySenderName', type: 'Boolean', description: "Show the sender's display name. Stored only." } },
  { field: 'meetingForwardNotificationEnabled', param: { name: 'MeetingForwardNotificationEnabled', type: 'Boolean', description: 'Meeting forward notifications to the domain. Stored only.' } },
  { field: 'useSimpleDisplayName', param: { name: 'UseSimpleDisplayName', type: 'Boolean', description: 'Use simple display names of senders. Stored only.' } },
  { field: 'ndrDiagnosticInfoEnabled', param: { name: 'NDRDiagnosticInfoEnabled', type: 'Boolean', description: 'Diagnostic details in NDRs to the domain. Stored only.' } },
];

/** `contoso.com` or `*.contoso.com`, as Exchange's SmtpDomainWithSubdomains; `*` belongs to Default alone. */
function parseRemoteDomainName(value: unknown): string {
  const text = String(value ?? '').trim();
  if (text === '*') {
    throw new InterchangeError('ICX_OBJECT_EXISTS', `The domain "*" is already used by the remote domain ${DEFAULT_REMOTE_DOMAIN_NAME}, which covers every domain no other remote domain names.`, { parameter: 'DomainName' });
  }
  return parseAcceptedDomainName(value);
}

function characterSet(name: string, value: unknown): string | null {
  if (value === null) return null;
  const text = String(value).trim().toLowerCase();
  // IANA charset names: letters, digits and a few punctuation marks (RFC 2978 §2.3).
  if (!/^[a-z0-9][a-z0-9!#$%&'+\-^_`{}~.:]{0,39}$/.test(text)) {
    throw new InterchangeError('ICX_PARAM_INVALID', `"${String(value)}" isn't a character set name. Use a name such as iso-8859-1 or utf-8.`, { parameter: name });
  }
  return text;
}

function applySettings(p: Record<string, unknown>, next: RemoteDomainRecord): void {
  const target = next as unknown as Record<string, unknown>;
  for (const { param, field } of settable) {
    const value = p[param.name];
    if (value === undefined) continue;
    target[field] = param.name === 'CharacterSet' || param.name === 'NonMimeCharacterSet' ? characterSet(param.name, value) : value;
  }
}

export function remoteDomainCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-RemoteDomain',
    synopsis: 'Lists the remote domains: message format and policy for mail to domains outside the organization. Default (*) is always there.',
    description: STORED_ONLY,
    parameters: [identity(false)],
    outputType: 'RemoteDomain',
    role: 'Remote and Accepted Domains',
    changesState: false,
    examples: [{ code: 'Get-RemoteDomain Default | Format-List', remarks: 'The settings for every domain no other remote domain names.' }],
    async run(ctx, p) {
      if (p.Identity === undefined) return (await ctx.services.directory.listRemoteDomains()).map(toRemoteDomainObject);
      return [toRemoteDomainObject(await findRemoteDomain(ctx.services.directory, p.Identity as string))];
    },
  });

  const create = defineCmdlet({
    name: 'New-RemoteDomain',
    synopsis: 'Adds a remote domain: settings for mail to one domain (or a domain and its subdomains) outside the organization.',
    description: STORED_ONLY,
    parameters: [
      { name: 'Name', type: 'String', mandatory: true, description: 'A unique name for the remote domain.' },
      { name: 'DomainName', type: 'String', mandatory: true, description: 'The domain, e.g. fabrikam.com, or *.fabrikam.com for it and all its subdomains.' },
    ],
    outputType: 'RemoteDomain',
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'New-RemoteDomain -Name Fabrikam -DomainName fabrikam.com', remarks: "Mail to fabrikam.com follows this remote domain's settings instead of Default's." }],
    async run(ctx, p) {
      const name = checkObjectName(p.Name);
      const domainName = parseRemoteDomainName(p.DomainName);
      const now = ctx.services.clock();
      if (!ctx.shouldProcess(`Creating remote domain "${name}" with domain name "${domainName}".`, name)) return;
      const record = newRemoteDomain(crypto.randomUUID(), name, domainName, now);
      await ctx.services.directory.insertRemoteDomain(record);
      return toRemoteDomainObject(record);
    },
  });

  const set = defineCmdlet({
    name: 'Set-RemoteDomain',
    synopsis: 'Changes the settings of a remote domain, Default included.',
    description: STORED_ONLY,
    parameters: [identity(true), { name: 'Name', type: 'String', description: 'A new name (not for Default).' }, ...settable.map((s) => s.param)],
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Set-RemoteDomain Fabrikam -NDREnabled $false', remarks: 'Senders at fabrikam.com get no non-delivery reports from the organization.' }],
    async run(ctx, p) {
      const current = await findRemoteDomain(ctx.services.directory, p.Identity as string);
      const next: RemoteDomainRecord = { ...current, whenChanged: ctx.services.clock() };
      if (p.Name !== undefined) {
        const name = checkObjectName(p.Name);
        if (current.domainName === '*' && name !== current.name) {
          throw new InterchangeError('ICX_REMOTE_DOMAIN_DEFAULT', `The remote domain "${current.name}" is the organization's default remote domain and can't be renamed.`, { parameter: 'Name' });
        }
        next.name = name;
      }
      applySettings(p, next);
      if (!ctx.shouldProcess(`Configuring remote domain "${current.name}".`, current.name)) return;
      await ctx.services.directory.updateRemoteDomain(next);
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-RemoteDomain',
    synopsis: 'Removes a remote domain; mail to its domain then follows Default (or a remote domain for a parent domain).',
    parameters: [identity(true)],
    role: 'Remote and Accepted Domains',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-RemoteDomain -Identity Fabrikam', remarks: 'Removes the remote domain after confirmation.' }],
    async run(ctx, p) {
      const d = await findRemoteDomain(ctx.services.directory, p.Identity as string);
      if (d.domainName === '*') {
        throw new InterchangeError('ICX_REMOTE_DOMAIN_DEFAULT', `The remote domain "${d.name}" is the organization's default remote domain (DomainName *) and can't be removed. Change its settings with Set-RemoteDomain instead.`);
      }
      if (!ctx.shouldProcess(`Removing remote domain "${d.name}".`, d.name)) return;
      await ctx.services.directory.deleteRemoteDomain(d.guid);
    },
  });

  return [get, create, set, remove];
}
