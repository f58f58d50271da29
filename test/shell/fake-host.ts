// An in-memory CmdletHost for the shell's unit tests: a few Exchange cmdlet
// declarations and a small binder that answers as the contract says the server
// does (prefixes, positions, mandatory parameters, confirmation, -WhatIf).
// The end-to-end tests against the real cmdlet layer live elsewhere.

import type { CmdletInfo, ConfirmImpact, InvokeRequest, InvokeResponse, ObjectTypeInfo, ParameterInfo, WireError, WireValue } from '../../src/cmdlets/contract.js';
import type { CmdletHost } from '../../src/shell/host.js';

export interface FakeCert {
  Thumbprint: string;
  Subject: string;
  Issuer: string;
  FriendlyName: string;
  CertificateDomains: string[];
  NotBefore: string;
  NotAfter: string;
  SerialNumber: string;
  Services: string;
  Status: string;
  Server: string;
}

export interface FakeConnector {
  Name: string;
  AddressSpaces: string[];
  Enabled: boolean;
  SourceTransportServers: string[];
  TlsCertificateName: string | null;
}

const p = (name: string, type: ParameterInfo['type'], extra: Partial<ParameterInfo> = {}): ParameterInfo => ({ name, type, description: `The ${name} parameter.`, ...extra });

export const CMDLETS: CmdletInfo[] = [
  {
    name: 'Get-ExchangeCertificate', synopsis: 'Gets the certificates of Exchange servers.', role: 'View-Only Configuration', changesState: false, confirmImpact: 'None',
    parameterSets: ['Thumbprint', 'Identity'], defaultParameterSet: 'Thumbprint', outputType: 'ExchangeCertificate',
    parameters: [
      p('Thumbprint', 'String', { position: 0, sets: ['Thumbprint'], valueFromPipeline: true }),
      p('Identity', 'String', { sets: ['Identity'] }),
      p('Server', 'String', { sets: ['Thumbprint'] }),
      p('DomainName', 'String', { multiValued: true }),
    ],
    examples: [{ code: 'Get-ExchangeCertificate | Format-List FriendlyName,Subject,Issuer', remarks: 'Lists the certificates.' }],
  },
  {
    name: 'Remove-ExchangeCertificate', synopsis: 'Removes a certificate from an Exchange server.', role: 'Exchange Server Certificates', changesState: true, confirmImpact: 'High',
    parameterSets: ['Thumbprint', 'Identity'], defaultParameterSet: 'Thumbprint',
    parameters: [
      p('Thumbprint', 'String', { position: 0, sets: ['Thumbprint'], mandatory: ['Thumbprint'], valueFromPipelineByPropertyName: true }),
      p('Identity', 'String', { sets: ['Identity'], mandatory: ['Identity'], valueFromPipelineByPropertyName: true }),
      p('Server', 'String', { sets: ['Thumbprint'] }),
    ],
    examples: [],
  },
  {
    name: 'Import-ExchangeCertificate', synopsis: 'Imports a certificate.', role: 'Exchange Server Certificates', changesState: true, confirmImpact: 'Low',
    parameterSets: ['FileData'], defaultParameterSet: 'FileData',
    parameters: [p('Server', 'String'), p('FileData', 'Byte[]', { mandatory: true }), p('Password', 'SecureString'), p('FriendlyName', 'String')],
    examples: [],
  },
  {
    name: 'Enable-ExchangeCertificate', synopsis: 'Assigns a certificate to Exchange services.', role: 'Exchange Server Certificates', changesState: true, confirmImpact: 'Low',
    parameterSets: ['Thumbprint'], defaultParameterSet: 'Thumbprint',
    parameters: [
      p('Thumbprint', 'String', { position: 0, mandatory: true, valueFromPipelineByPropertyName: true }),
      p('Services', 'Flags', { values: ['None', 'IIS', 'SMTP', 'IMAP', 'POP'], multiValued: true, mandatory: true }),
      p('Force', 'SwitchParameter'),
    ],
    examples: [],
  },
  {
    name: 'Get-SendConnector', synopsis: 'Gets Send connectors.', role: 'View-Only Configuration', changesState: false, confirmImpact: 'None',
    parameterSets: ['Identity'], defaultParameterSet: 'Identity',
    parameters: [p('Identity', 'String', { position: 0, valueFromPipeline: true })],
    examples: [],
  },
  {
    name: 'Set-SendConnector', synopsis: 'Changes a Send connector.', role: 'Organization Transport Settings', changesState: true, confirmImpact: 'Medium',
    parameterSets: ['Identity'], defaultParameterSet: 'Identity',
    parameters: [
      p('Identity', 'String', { position: 0, mandatory: true, valueFromPipeline: true, valueFromPipelineByPropertyName: true }),
      p('TlsCertificateName', 'String', { nullable: true }),
      p('Enabled', 'Boolean'),
      p('AddressSpaces', 'String', { multiValued: true }),
      p('RequireTLS', 'Boolean'),
      p('TlsAuthLevel', 'Enum', { values: ['EncryptionOnly', 'CertificateValidation', 'DomainValidation'] }),
    ],
    examples: [],
  },
  {
    name: 'New-SendConnector', synopsis: 'Creates a Send connector.', role: 'Organization Transport Settings', changesState: true, confirmImpact: 'Medium',
    parameterSets: ['AddressSpaces'], defaultParameterSet: 'AddressSpaces',
    parameters: [p('Name', 'String', { mandatory: true, position: 0 }), p('AddressSpaces', 'String', { multiValued: true, mandatory: true }), p('Usage', 'Enum', { values: ['Custom', 'Internal', 'Internet', 'Partner'] })],
    examples: [],
  },
  {
    name: 'Stop-Service', synopsis: 'Stops a service.', role: 'Exchange Servers', changesState: true, confirmImpact: 'Medium',
    parameterSets: ['Name'], defaultParameterSet: 'Name', parameters: [p('Name', 'String', { position: 0, mandatory: true, valueFromPipelineByPropertyName: true }), p('Force', 'SwitchParameter')], examples: [],
  },
  {
    name: 'Start-Service', synopsis: 'Starts a service.', role: 'Exchange Servers', changesState: true, confirmImpact: 'Medium',
    parameterSets: ['Name'], defaultParameterSet: 'Name', parameters: [p('Name', 'String', { position: 0, mandatory: true, valueFromPipelineByPropertyName: true })], examples: [],
  },
  {
    name: 'Get-Service', synopsis: 'Gets services.', role: 'View-Only Configuration', changesState: false, confirmImpact: 'None',
    parameterSets: ['Name'], defaultParameterSet: 'Name', parameters: [p('Name', 'String', { position: 0 })], examples: [],
  },
  {
    name: 'Get-Queue', synopsis: 'Gets queues (the fake never answers, for Ctrl-C tests).', role: 'View-Only Configuration', changesState: false, confirmImpact: 'None',
    parameterSets: ['Identity'], defaultParameterSet: 'Identity', parameters: [p('Identity', 'String', { position: 0 })], examples: [],
  },
  {
    name: 'Get-TransportService', synopsis: 'Gets transport service settings.', role: 'View-Only Configuration', changesState: false, confirmImpact: 'None',
    parameterSets: ['Identity'], defaultParameterSet: 'Identity', parameters: [p('Identity', 'String', { position: 0 })], examples: [],
  },
  {
    name: 'Set-TransportService', synopsis: 'Changes transport service settings.', role: 'Exchange Servers', changesState: true, confirmImpact: 'Medium',
    parameterSets: ['Identity'], defaultParameterSet: 'Identity',
    parameters: [p('Identity', 'String', { position: 0, mandatory: true }), p('MaxConcurrentMailboxDeliveries', 'Int32'), p('SendProtocolLogPath', 'String')], examples: [],
  },
];

export const TYPES: ObjectTypeInfo[] = [
  {
    name: 'ExchangeCertificate',
    properties: [
      { name: 'Thumbprint', type: 'String' }, { name: 'Services', type: 'String' }, { name: 'Subject', type: 'String' }, { name: 'Issuer', type: 'String' },
      { name: 'FriendlyName', type: 'String' }, { name: 'CertificateDomains', type: 'Object', multiValued: true, objectType: 'SmtpDomainWithSubdomains' }, { name: 'NotBefore', type: 'DateTime' },
      { name: 'NotAfter', type: 'DateTime' }, { name: 'SerialNumber', type: 'String' }, { name: 'Status', type: 'String' }, { name: 'Identity', type: 'String' },
      { name: 'ServicesStringForm', type: 'String' },
    ],
    defaultTableView: ['Thumbprint', 'ServicesStringForm', 'Subject'],
    tableColumnLabels: { ServicesStringForm: 'Services' },
    defaultListView: ['CertificateDomains', 'Issuer', 'NotAfter', 'NotBefore', 'SerialNumber', 'Services', 'Status', 'Subject', 'Thumbprint'],
  },
  {
    name: 'SmtpDomainWithSubdomains',
    properties: [{ name: 'IsStar', type: 'Boolean' }, { name: 'IncludeSubDomains', type: 'Boolean' }, { name: 'Address', type: 'String' }, { name: 'Domain', type: 'String' }, { name: 'SmtpDomain', type: 'String' }],
    defaultTableView: ['IsStar', 'IncludeSubDomains', 'Address', 'Domain'],
    defaultListView: ['IsStar', 'IncludeSubDomains', 'Address', 'Domain', 'SmtpDomain'],
    toStringProperty: 'Address',
  },
  {
    name: 'SendConnector',
    properties: [
      { name: 'Identity', type: 'String' }, { name: 'AddressSpaces', type: 'String', multiValued: true }, { name: 'Enabled', type: 'Boolean' },
      { name: 'Name', type: 'String' }, { name: 'SourceTransportServers', type: 'String', multiValued: true }, { name: 'TlsCertificateName', type: 'String' },
    ],
    defaultTableView: ['Identity', 'AddressSpaces', 'Enabled'],
    defaultListView: [],
  },
  {
    name: 'ServiceController',
    properties: [{ name: 'Status', type: 'String' }, { name: 'Name', type: 'String' }, { name: 'DisplayName', type: 'String' }],
    defaultTableView: ['Status', 'Name', 'DisplayName'],
    defaultListView: [],
  },
  {
    name: 'TransportService',
    properties: [
      { name: 'Identity', type: 'String' }, { name: 'Name', type: 'String' }, { name: 'ConnectivityLogPath', type: 'String' },
      { name: 'ReceiveProtocolLogPath', type: 'String' }, { name: 'SendProtocolLogPath', type: 'String' },
      { name: 'IntraOrgConnectorProtocolLoggingLevel', type: 'String' }, { name: 'MaxConcurrentMailboxDeliveries', type: 'Int32' },
    ],
    defaultTableView: ['Name'],
    defaultListView: [],
  },
];

const IMPACT: Record<ConfirmImpact, number> = { None: 0, Low: 1, Medium: 2, High: 3 };

function fail(cmdlet: string, code: string, category: WireError['category'], message: string, extra: Partial<WireError> = {}): InvokeResponse {
  return { ok: false, cmdlet, output: [], warnings: [], whatIf: [], errors: [], error: { code, category, message, ...extra } };
}

export interface FakeState {
  certs: FakeCert[];
  connectors: FakeConnector[];
  services: Record<string, 'Running' | 'Stopped'>;
  imported: Array<{ server: WireValue; fileData: WireValue; password: WireValue }>;
  defaultSmtp: string;
}

export function initialState(): FakeState {
  const future = new Date(Date.now() + 400 * 86400000).toISOString();
  const soon = new Date(Date.now() + 10 * 86400000).toISOString();
  return {
    certs: [
      { Thumbprint: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678', Subject: 'CN=mail.contoso.com', Issuer: 'CN=Contoso CA, O=Contoso, C=US', FriendlyName: 'Old', CertificateDomains: ['mail.contoso.com', 'autodiscover.contoso.com'], NotBefore: '2023-01-11T16:00:04.000Z', NotAfter: soon, SerialNumber: '01', Services: 'SMTP', Status: 'Valid', Server: 'EX01' },
      { Thumbprint: 'FFEE0011223344556677889900AABBCCDDEEFF00', Subject: 'CN=mail.contoso.com', Issuer: 'CN=Contoso CA, O=Contoso, C=US', FriendlyName: 'New', CertificateDomains: ['mail.contoso.com'], NotBefore: '2024-02-01T08:30:00.000Z', NotAfter: future, SerialNumber: '02', Services: 'IIS, SMTP', Status: 'Valid', Server: 'EX01' },
    ],
    connectors: [{ Name: 'Contoso Outbound', AddressSpaces: ['SMTP:*;1'], Enabled: true, SourceTransportServers: ['EX01', 'EX02'], TlsCertificateName: '<I>CN=Contoso CA, O=Contoso, C=US<S>CN=mail.contoso.com' }],
    services: { MSExchangeTransport: 'Running' },
    imported: [],
    defaultSmtp: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678',
  };
}

export class FakeHost implements CmdletHost {
  readonly requests: Array<{ name: string; request: InvokeRequest }> = [];
  state: FakeState = initialState();
  /** Set to make invoke() wait until the signal aborts (Ctrl-C tests). */
  hang = false;

  async listCmdlets() {
    return { cmdlets: CMDLETS, types: TYPES };
  }

  async invoke(name: string, request: InvokeRequest, options: { signal?: AbortSignal } = {}): Promise<InvokeResponse> {
    this.requests.push({ name, request: JSON.parse(JSON.stringify(request)) });
    if (this.hang || name === 'Get-Queue') {
      await new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    }
    const info = CMDLETS.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!info) return fail(name, 'ICX_CMDLET_UNKNOWN', 'ObjectNotFound', `No cmdlet named ${name}.`);
    const bound: Record<string, WireValue> = {};
    for (const [typed, value] of Object.entries(request.parameters ?? {})) {
      const lower = typed.toLowerCase();
      const exact = info.parameters.find((x) => x.name.toLowerCase() === lower);
      const matches = exact ? [exact] : info.parameters.filter((x) => x.name.toLowerCase().startsWith(lower));
      if (matches.length === 0) return fail(name, 'ICX_PARAM_UNKNOWN', 'InvalidArgument', `A parameter cannot be found that matches parameter name '${typed}'.`, { parameter: typed });
      if (matches.length > 1) {
        return fail(name, 'ICX_PARAM_AMBIGUOUS', 'InvalidArgument', `Parameter cannot be processed because the parameter name '${typed}' is ambiguous. Possible matches include: ${matches.map((m) => '-' + m.name).join(' ')}.`, { parameter: typed });
      }
      const param = matches[0];
      if (param.type === 'Int32' && value !== null && Number.isNaN(Number(value))) {
        return fail(name, 'ICX_PARAM_CONVERSION', 'InvalidArgument', `Cannot bind parameter '${param.name}'. Cannot convert value "${String(value)}" to type "System.Int32". Error: "Input string was not in a correct format."`, { parameter: param.name });
      }
      if (param.type === 'Enum' && typeof value === 'string' && !param.values!.some((v) => v.toLowerCase() === value.toLowerCase())) {
        return fail(name, 'ICX_PARAM_CONVERSION', 'InvalidArgument', `Cannot bind parameter '${param.name}'. "${value}" is not one of ${param.values!.join(', ')}.`, { parameter: param.name });
      }
      bound[param.name] = value;
    }
    const positional = [...(request.positional ?? [])];
    for (const param of info.parameters.filter((x) => x.position !== undefined).sort((a, b) => a.position! - b.position!)) {
      if (positional.length === 0) break;
      if (param.name in bound) continue;
      if (param.sets?.length && !param.sets.includes(info.defaultParameterSet) && !Object.keys(bound).some((b) => info.parameters.find((x) => x.name === b)?.sets?.includes(param.sets![0]))) continue;
      bound[param.name] = positional.shift()!;
    }
    if (positional.length) return fail(name, 'ICX_PARAM_POSITIONAL', 'InvalidArgument', `A positional parameter cannot be found that accepts argument '${String(positional[0])}'.`);
    const set = info.parameterSets.find((s) => Object.keys(bound).every((b) => {
      const x = info.parameters.find((q) => q.name === b)!;
      return !x.sets?.length || x.sets.includes(s);
    })) ?? info.defaultParameterSet;
    for (const x of info.parameters) {
      const mandatory = x.mandatory === true || (Array.isArray(x.mandatory) && x.mandatory.includes(set));
      if (mandatory && !(x.name in bound) && (!x.sets?.length || x.sets.includes(set))) {
        return fail(name, 'ICX_PARAM_MISSING', 'InvalidArgument', `Cannot process command because of one or more missing mandatory parameters: ${x.name}.`, { parameter: x.name });
      }
    }
    return this.execute(info, bound, request);
  }

  private needsConfirmation(info: CmdletInfo, request: InvokeRequest): boolean {
    if (!info.changesState || request.whatIf || request.confirmed) return false;
    if (request.confirm) return true;
    const pref = request.confirmPreference ?? 'High';
    return pref !== 'None' && IMPACT[info.confirmImpact] >= IMPACT[pref];
  }

  private certObject(c: FakeCert): Record<string, unknown> {
    const has = (x: string): boolean => c.Services.split(', ').includes(x);
    const form = (has('IMAP') ? 'I' : '.') + (has('POP') ? 'P' : '.') + '.' + (has('IIS') ? 'W' : '.') + (has('SMTP') ? 'S' : '.') + '..';
    // CertificateDomains as the real server sends them: SmtpDomainWithSubdomains objects.
    const domains = c.CertificateDomains.map((d) => ({ $type: 'SmtpDomainWithSubdomains', IsStar: false, IncludeSubDomains: d.startsWith('*.'), Address: d, Domain: d.replace(/^\*\./, ''), SmtpDomain: d.replace(/^\*\./, '') }));
    return { $type: 'ExchangeCertificate', ...c, CertificateDomains: domains, Identity: `${c.Server}\\${c.Thumbprint}`, ServicesStringForm: form };
  }

  private execute(info: CmdletInfo, b: Record<string, WireValue>, request: InvokeRequest): InvokeResponse {
    const ok = (output: Array<Record<string, unknown>> = [], extra: Partial<InvokeResponse> = {}): InvokeResponse => ({ ok: true, cmdlet: info.name, output, warnings: [], whatIf: [], errors: [], ...extra });
    const s = this.state;
    const confirmation = (query: string, target: string): InvokeResponse | undefined => {
      if (request.whatIf) return ok([], { whatIf: [`What if: ${query.replace(/\?$/, '.')}`] });
      if (this.needsConfirmation(info, request)) return fail(info.name, 'ICX_CONFIRMATION_REQUIRED', 'OperationStopped', 'Confirmation is required.', { confirmation: { caption: 'Confirm', query, target, kind: 'ShouldProcess' } });
      return undefined;
    };
    switch (info.name) {
      case 'Get-ExchangeCertificate': {
        let certs = s.certs;
        if (b.Thumbprint !== undefined) {
          certs = certs.filter((c) => c.Thumbprint.toLowerCase() === String(b.Thumbprint).toLowerCase());
          if (!certs.length) return fail(info.name, 'ICX_CERT_NOT_FOUND', 'ObjectNotFound', `The certificate with thumbprint ${String(b.Thumbprint)} was not found.`);
        }
        if (b.DomainName !== undefined) {
          const wanted = ([] as WireValue[]).concat(b.DomainName).map((d) => String(d).toLowerCase());
          const hits = certs.filter((c) => c.CertificateDomains.some((d) => wanted.includes(d.toLowerCase())));
          const missing = wanted.filter((w) => !certs.some((c) => c.CertificateDomains.includes(w)));
          return ok(hits.map((c) => this.certObject(c)), { errors: missing.map((m) => ({ code: 'ICX_CERT_NOT_FOUND', category: 'ObjectNotFound' as const, message: `No certificate for the domain ${m} was found.` })) });
        }
        return ok(certs.map((c) => this.certObject(c)));
      }
      case 'Remove-ExchangeCertificate': {
        const thumb = String(b.Thumbprint ?? String(b.Identity).split('\\').pop());
        const cert = s.certs.find((c) => c.Thumbprint.toLowerCase() === thumb.toLowerCase());
        if (!cert) return fail(info.name, 'ICX_CERT_NOT_FOUND', 'ObjectNotFound', `The certificate with thumbprint ${thumb} was not found.`);
        const gate = confirmation(`Remove certificate with thumbprint ${cert.Thumbprint} from the computer's certificate store?`, cert.Thumbprint);
        if (gate) return gate;
        const tagged = s.connectors.filter((c) => c.TlsCertificateName === `<I>${cert.Issuer}<S>${cert.Subject}`);
        if (tagged.length) {
          return fail(info.name, 'ICX_CERT_IN_USE_SEND_CONNECTOR', 'InvalidOperation',
            `A special Rpc error occurs on server ${String(b.Server ?? cert.Server)}: These certificates are tagged with following Send Connectors : ${tagged.map((t) => t.Name).join(', ')}. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.`);
        }
        s.certs = s.certs.filter((c) => c !== cert);
        return ok();
      }
      case 'Import-ExchangeCertificate': {
        const gate = confirmation('Import certificate.', 'EX01');
        if (gate) return gate;
        s.imported.push({ server: b.Server ?? null, fileData: b.FileData, password: b.Password ?? null });
        return ok();
      }
      case 'Enable-ExchangeCertificate': {
        const cert = s.certs.find((c) => c.Thumbprint.toLowerCase() === String(b.Thumbprint).toLowerCase());
        if (!cert) return fail(info.name, 'ICX_CERT_NOT_FOUND', 'ObjectNotFound', `The certificate with thumbprint ${String(b.Thumbprint)} was not found.`);
        const services = ([] as WireValue[]).concat(b.Services).flatMap((x) => String(x).split(',')).map((x) => x.trim());
        let replace = true;
        if (services.some((x) => x.toLowerCase() === 'smtp') && s.defaultSmtp !== cert.Thumbprint && !b.Force) {
          const id = 'OverwriteDefaultSmtpCertificate';
          const answer = request.answers?.[id];
          if (answer === undefined) {
            return fail(info.name, 'ICX_CONFIRMATION_REQUIRED', 'OperationStopped', 'Overwrite the existing default SMTP certificate?', {
              confirmation: { caption: 'Confirm', query: `Overwrite the existing default SMTP certificate?\n\nCurrent certificate: '${s.defaultSmtp}'\nReplace it with certificate: '${cert.Thumbprint}'`, target: id, kind: 'ShouldContinue', id },
            });
          }
          replace = answer;
        }
        cert.Services = [...new Set([...cert.Services.split(', '), ...services])].join(', ');
        if (replace && services.some((x) => x.toLowerCase() === 'smtp')) s.defaultSmtp = cert.Thumbprint;
        return ok();
      }
      case 'Get-SendConnector': {
        let list = s.connectors;
        if (b.Identity !== undefined) {
          list = list.filter((c) => c.Name.toLowerCase() === String(b.Identity).toLowerCase());
          if (!list.length) return fail(info.name, 'ICX_OBJECT_NOT_FOUND', 'ObjectNotFound', `The operation couldn't be performed because object '${String(b.Identity)}' couldn't be found on 'dc01.contoso.com'.`);
        }
        return ok(list.map((c) => ({ $type: 'SendConnector', Identity: c.Name, ...c })));
      }
      case 'Set-SendConnector': {
        const c = s.connectors.find((x) => x.Name.toLowerCase() === String(b.Identity).toLowerCase());
        if (!c) return fail(info.name, 'ICX_OBJECT_NOT_FOUND', 'ObjectNotFound', `The operation couldn't be performed because object '${String(b.Identity)}' couldn't be found on 'dc01.contoso.com'.`);
        const gate = confirmation(`Configuring Send connector "${c.Name}".`, c.Name);
        if (gate) return gate;
        if ('TlsCertificateName' in b) c.TlsCertificateName = b.TlsCertificateName as string | null;
        if ('Enabled' in b) c.Enabled = Boolean(b.Enabled);
        return ok([], { warnings: 'Enabled' in b && !b.Enabled ? ['The Send connector is disabled; mail that uses it will queue.'] : [] });
      }
      case 'New-SendConnector':
        return ok([{ $type: 'SendConnector', Identity: String(b.Name), Name: String(b.Name), AddressSpaces: b.AddressSpaces, Enabled: true }]);
      case 'Stop-Service':
      case 'Start-Service': {
        const name = String(b.Name);
        if (!(name in s.services)) return fail(info.name, 'ICX_SERVICE_NOT_FOUND', 'ObjectNotFound', `Cannot find any service with service name '${name}'.`);
        const gate = confirmation(`Performing the operation "${info.name}" on target "Microsoft Exchange Transport (${name})".`, name);
        if (gate) return gate;
        s.services[name] = info.name === 'Stop-Service' ? 'Stopped' : 'Running';
        return ok();
      }
      case 'Get-Service':
        return ok(Object.entries(s.services).map(([n, st]) => ({ $type: 'ServiceController', Status: st, Name: n, DisplayName: 'Microsoft Exchange Transport' })));
      case 'Get-TransportService':
        return ok([{
          $type: 'TransportService', Identity: 'EX01', Name: 'EX01', ConnectivityLogPath: '/var/log/interchange/Connectivity',
          ReceiveProtocolLogPath: '/var/log/interchange/ProtocolLog/SmtpReceive', SendProtocolLogPath: '/var/log/interchange/ProtocolLog/SmtpSend',
          IntraOrgConnectorProtocolLoggingLevel: 'None', MaxConcurrentMailboxDeliveries: 20,
        }]);
      case 'Set-TransportService':
        return ok();
    }
    return fail(info.name, 'ICX_INTERNAL', 'NotSpecified', 'not implemented in the fake');
  }
}
