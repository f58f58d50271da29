// The organization's transport settings (Exchange's TransportConfigContainer,
// Identity `Transport Settings`): one object for the whole organization, read
// by every server's transport at its next configuration reload.
import type { OrganizationRecord, TransportConfigRecord } from '../../directory/records.js';
import { transportConfigSettings } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { formatByteQuantifiedSize } from '../framework/units.js';
import { applyMultiValued } from './common.js';

export const TRANSPORT_CONFIG_IDENTITY = 'Transport Settings';

export const transportConfigType = defineObjectType({
  name: 'TransportConfig',
  // In the order Format-List shows Exchange's TransportConfigContainer: its settings by name, then the object's own.
  properties: [
    { name: 'ExternalDelayDsnEnabled', type: 'Boolean' },
    { name: 'GenerateCopyOfDSNFor', type: 'String', multiValued: true },
    { name: 'InternalDelayDsnEnabled', type: 'Boolean' },
    { name: 'MaxReceiveSize', type: 'ByteQuantifiedSize' },
    { name: 'MaxRecipientEnvelopeLimit', type: 'Object' },
    { name: 'MaxSendSize', type: 'ByteQuantifiedSize' },
    { name: 'TLSReceiveDomainSecureList', type: 'String', multiValued: true },
    { name: 'TLSSendDomainSecureList', type: 'String', multiValued: true },
    { name: 'Name', type: 'String' },
    { name: 'Identity', type: 'String' },
    { name: 'WhenChanged', type: 'DateTime' },
  ],
  // No table view: Get-TransportConfig alone lists every property, as Exchange's does.
  defaultTableView: [],
  defaultListView: [],
});

export function toTransportConfigObject(t: TransportConfigRecord) {
  return {
    $type: 'TransportConfig',
    ExternalDelayDsnEnabled: t.externalDelayDsnEnabled,
    GenerateCopyOfDSNFor: t.generateCopyOfDSNFor,
    InternalDelayDsnEnabled: t.internalDelayDsnEnabled,
    MaxReceiveSize: formatByteQuantifiedSize(t.maxReceiveSize),
    MaxRecipientEnvelopeLimit: t.maxRecipientEnvelopeLimit === null ? 'Unlimited' : t.maxRecipientEnvelopeLimit,
    MaxSendSize: formatByteQuantifiedSize(t.maxSendSize),
    TLSReceiveDomainSecureList: t.tlsReceiveDomainSecureList,
    TLSSendDomainSecureList: t.tlsSendDomainSecureList,
    Name: TRANSPORT_CONFIG_IDENTITY,
    Identity: TRANSPORT_CONFIG_IDENTITY,
    WhenChanged: t.whenChanged,
  };
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const SMTP_DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/**
 * Exchange's SmtpDomain, as the domain-secure lists take it: one domain, no wildcard (domain security names
 * the partner whose certificate must match, and a certificate is checked against one name).
 */
export function parseSecureListDomain(parameter: string, value: unknown): string {
  const text = String(value ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (text.includes('*')) {
    throw new InterchangeError('ICX_PARAM_INVALID', `Cannot process argument transformation on parameter '${parameter}'. "${String(value)}" contains a wildcard, which ${parameter} doesn't allow: name each domain, such as contoso.com.`, { parameter });
  }
  if (!SMTP_DOMAIN.test(text) || text.length > 255) {
    throw new InterchangeError('ICX_PARAM_INVALID', `Cannot process argument transformation on parameter '${parameter}'. "${String(value)}" isn't a valid SMTP domain. Use a domain such as contoso.com.`, { parameter });
  }
  return text;
}

/** `5.4.8`: an enhanced status code of a failure (RFC 3463 class 4 or 5). */
function parseDsnCode(value: unknown): string {
  const text = String(value ?? '').trim();
  if (!/^[45]\.\d{1,3}\.\d{1,3}$/.test(text)) {
    throw new InterchangeError('ICX_PARAM_INVALID', `Cannot process argument transformation on parameter 'GenerateCopyOfDSNFor'. "${String(value)}" isn't an enhanced status code such as 5.4.8 or 4.4.7.`, { parameter: 'GenerateCopyOfDSNFor' });
  }
  return text;
}

/** The largest size Exchange takes for the organization's limits, as for a connector's MaxMessageSize: 2,147,483,647 bytes [Inferred]. */
const MAX_SIZE = 2147483647;

function checkSize(parameter: string, value: unknown): number | null {
  if (value === null) return null;
  const n = value as number;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SIZE) {
    throw new InterchangeError('ICX_PARAM_INVALID', `The value of ${parameter} must be between 0 bytes and 2147483647 bytes (about 2 GB), or unlimited.`, { parameter });
  }
  return n;
}

export function transportConfigCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-TransportConfig',
    synopsis: "Shows the organization's transport settings (one object, Identity \"Transport Settings\").",
    description:
      'MaxSendSize and MaxReceiveSize limit every message a Receive connector takes, besides the connector\'s own MaxMessageSize (the smaller wins). ' +
      'MaxRecipientEnvelopeLimit limits the recipients of a message besides the connector\'s MaxRecipientsPerMessage. ' +
      'TLSSendDomainSecureList and TLSReceiveDomainSecureList name the partner domains whose mail travels only over TLS with a certificate that validates for the domain. ' +
      'ExternalDelayDsnEnabled and InternalDelayDsnEnabled decide whether delay notifications go to senders outside and inside the organization (a sender is inside when its domain is an accepted domain). ' +
      'GenerateCopyOfDSNFor is stored only: Interchange does not copy NDRs to a postmaster mailbox.',
    parameters: [],
    outputType: 'TransportConfig',
    role: 'Organization Transport Settings',
    changesState: false,
    examples: [{ code: 'Get-TransportConfig | Format-List MaxSendSize,MaxReceiveSize,TLS*', remarks: 'The size limits and the domain-secure lists.' }],
    async run(ctx) {
      return [toTransportConfigObject(transportConfigSettings(await ctx.services.directory.getOrganization()))];
    },
  });

  const parameters: ParameterDeclaration[] = [
    { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'Accepted for compatibility: the organization has one transport configuration, "Transport Settings".' },
    { name: 'MaxSendSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest message a sender may send, e.g. 25MB or unlimited. Default 10 MB.' },
    { name: 'MaxReceiveSize', type: 'ByteQuantifiedSize', allowUnlimited: true, description: 'Largest message the organization takes, e.g. 25MB or unlimited. Default 10 MB.' },
    { name: 'MaxRecipientEnvelopeLimit', type: 'Int32', allowUnlimited: true, range: [0, 2147483647], description: 'Most recipients of one message (0 to 2147483647, or unlimited). Default 500.' },
    { name: 'TLSSendDomainSecureList', type: 'String', multiValued: true, nullable: true, description: 'Domains mail is sent to only over domain-secured TLS (no wildcards). Takes @{Add=...; Remove=...}.' },
    { name: 'TLSReceiveDomainSecureList', type: 'String', multiValued: true, nullable: true, description: 'Domains mail is taken from only over domain-secured TLS (no wildcards). Takes @{Add=...; Remove=...}.' },
    { name: 'ExternalDelayDsnEnabled', type: 'Boolean', description: 'Delay notifications to senders outside the organization. Default $true.' },
    { name: 'InternalDelayDsnEnabled', type: 'Boolean', description: 'Delay notifications to senders inside the organization. Default $true.' },
    { name: 'GenerateCopyOfDSNFor', type: 'String', multiValued: true, nullable: true, description: 'Enhanced status codes (e.g. 5.4.8) whose NDRs Exchange copies to the postmaster. Stored only.' },
  ];

  const set = defineCmdlet({
    name: 'Set-TransportConfig',
    synopsis: "Changes the organization's transport settings: message size and recipient limits, domain-secure lists, delay notifications.",
    description: 'Every server takes the change at its next configuration reload. Bad values change nothing.',
    parameters,
    role: 'Organization Transport Settings',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Set-TransportConfig -MaxSendSize 25MB -MaxReceiveSize 25MB', remarks: 'Messages up to 25 MB, where the connectors allow it.' },
      { code: 'Set-TransportConfig -TLSSendDomainSecureList @{Add="fabrikam.com"}', remarks: 'Mail to fabrikam.com goes only over TLS to a host whose certificate validates for fabrikam.com.' },
    ],
    async run(ctx, p) {
      if (p.Identity !== undefined && String(p.Identity).trim().toLowerCase() !== TRANSPORT_CONFIG_IDENTITY.toLowerCase()) {
        throw new InterchangeError('ICX_OBJECT_NOT_FOUND', `The operation couldn't be performed because object '${String(p.Identity)}' couldn't be found. The organization's transport configuration is "${TRANSPORT_CONFIG_IDENTITY}".`);
      }
      const change: Partial<TransportConfigRecord> = {};
      if (p.MaxSendSize !== undefined) change.maxSendSize = checkSize('MaxSendSize', p.MaxSendSize);
      if (p.MaxReceiveSize !== undefined) change.maxReceiveSize = checkSize('MaxReceiveSize', p.MaxReceiveSize);
      if (p.MaxRecipientEnvelopeLimit !== undefined) change.maxRecipientEnvelopeLimit = p.MaxRecipientEnvelopeLimit as number | null;
      if (p.ExternalDelayDsnEnabled !== undefined) change.externalDelayDsnEnabled = p.ExternalDelayDsnEnabled as boolean;
      if (p.InternalDelayDsnEnabled !== undefined) change.internalDelayDsnEnabled = p.InternalDelayDsnEnabled as boolean;
      // Values are checked before anything is written, and again against the list as it is inside the write.
      const lists = {
        TLSSendDomainSecureList: (v: unknown) => parseSecureListDomain('TLSSendDomainSecureList', v),
        TLSReceiveDomainSecureList: (v: unknown) => parseSecureListDomain('TLSReceiveDomainSecureList', v),
        GenerateCopyOfDSNFor: parseDsnCode,
      } as const;
      const normalized: Partial<Record<keyof typeof lists, unknown>> = {};
      for (const [name, parse] of Object.entries(lists) as Array<[keyof typeof lists, (v: unknown) => string]>) {
        const value = p[name];
        if (value === undefined) continue;
        normalized[name] = normalizeEdit(value, parse);
      }
      if (!ctx.shouldProcess(`Configuring transport configuration "${TRANSPORT_CONFIG_IDENTITY}".`, TRANSPORT_CONFIG_IDENTITY)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        const org = await tx.getOrganization();
        if (!org) throw new InterchangeError('ICX_OBJECT_NOT_FOUND', 'The organization has not been created yet.');
        const current = transportConfigSettings(org);
        const next: Partial<TransportConfigRecord> = { ...org.transportConfig, ...change, whenChanged: ctx.services.clock() };
        if (normalized.TLSSendDomainSecureList !== undefined) next.tlsSendDomainSecureList = applyMultiValued(current.tlsSendDomainSecureList, normalized.TLSSendDomainSecureList);
        if (normalized.TLSReceiveDomainSecureList !== undefined) next.tlsReceiveDomainSecureList = applyMultiValued(current.tlsReceiveDomainSecureList, normalized.TLSReceiveDomainSecureList);
        if (normalized.GenerateCopyOfDSNFor !== undefined) next.generateCopyOfDSNFor = applyMultiValued(current.generateCopyOfDSNFor, normalized.GenerateCopyOfDSNFor);
        const updated: OrganizationRecord = { ...org, transportConfig: next };
        await tx.updateOrganization(updated);
      });
    },
  });

  return [get, set];
}

/** A list or an Add/Remove edit with every value parsed; null stays null (the list is emptied). */
function normalizeEdit(value: unknown, parse: (v: unknown) => string): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return [...new Set(value.map(parse))];
  const edit = value as { add: unknown[]; remove: unknown[] };
  return { ...edit, add: edit.add.map(parse), remove: edit.remove.map(parse) };
}
