import { Button, Checkbox, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Dropdown, Field, Input, Option, Radio, RadioGroup, Switch, Tab, TabList, Textarea } from '@fluentui/react-components';
import { useEffect, useState } from 'react';
import { fieldError, formError, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { WireError, WireValue } from '../api/client';
import { AddressSpaceEditor } from '../components/address-space-editor';
import { CmdletErrorBar, list, Loading, str } from '../components/common';
import { ServerListEditor } from '../components/server-list-editor';
import { TlsCertificateChooser } from '../components/tls-certificate-chooser';

type TabName = 'general' | 'delivery' | 'scoping';
const TAB_OF: Record<string, TabName> = {
  name: 'general', enabled: 'general', protocollogginglevel: 'general', maxmessagesize: 'general', comment: 'general',
  dnsroutingenabled: 'delivery', smarthosts: 'delivery', smarthostauthmechanism: 'delivery', port: 'delivery', requiretls: 'delivery', tlsauthlevel: 'delivery', tlsdomain: 'delivery', tlscertificatename: 'delivery', ignorestarttls: 'delivery', useexternaldnsserversenabled: 'delivery',
  addressspaces: 'scoping', sourcetransportservers: 'scoping', fqdn: 'scoping',
};

interface Form {
  Name: string;
  Enabled: boolean;
  ProtocolLoggingLevel: string;
  MaxMessageSize: string;
  Comment: string;
  DNSRoutingEnabled: boolean;
  SmartHosts: string;
  SmartHostAuthMechanism: string;
  UseExternalDNSServersEnabled: boolean;
  Port: string;
  RequireTLS: boolean;
  TlsAuthLevel: string;
  TlsDomain: string;
  TlsCertificateName: string | null;
  AddressSpaces: string[];
  SourceTransportServers: string[];
  Fqdn: string;
}

/** MaxMessageSize as the cmdlet renders it ("35 MB (36,700,160 bytes)") back to an input value. */
function sizeInput(v: unknown): string {
  const t = str(v);
  if (!t || t.toLowerCase() === 'unlimited') return 'unlimited';
  return t.replace(/\s*\(.*\)$/, '').replace(/\s+/g, '');
}

function toForm(c: Record<string, unknown>): Form {
  return {
    Name: str(c.Name),
    Enabled: c.Enabled === true,
    ProtocolLoggingLevel: str(c.ProtocolLoggingLevel) || 'None',
    MaxMessageSize: sizeInput(c.MaxMessageSize),
    Comment: str(c.Comment),
    DNSRoutingEnabled: c.DNSRoutingEnabled !== false,
    SmartHosts: list(c.SmartHosts).join(', '),
    SmartHostAuthMechanism: str(c.SmartHostAuthMechanism) || 'None',
    UseExternalDNSServersEnabled: c.UseExternalDNSServersEnabled === true,
    Port: str(c.Port),
    RequireTLS: c.RequireTLS === true,
    TlsAuthLevel: str(c.TlsAuthLevel),
    TlsDomain: str(c.TlsDomain),
    TlsCertificateName: (c.TlsCertificateName as string | null) ?? null,
    AddressSpaces: list(c.AddressSpaces),
    SourceTransportServers: list(c.SourceTransportServers),
    Fqdn: str(c.Fqdn),
  };
}

/** Only what the administrator changed goes to Set-SendConnector. */
function changes(before: Form, after: Form): Record<string, WireValue> {
  const p: Record<string, WireValue> = {};
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (before.Name !== after.Name) p.Name = after.Name;
  if (before.Enabled !== after.Enabled) p.Enabled = after.Enabled;
  if (before.ProtocolLoggingLevel !== after.ProtocolLoggingLevel) p.ProtocolLoggingLevel = after.ProtocolLoggingLevel;
  if (before.MaxMessageSize !== after.MaxMessageSize) p.MaxMessageSize = after.MaxMessageSize;
  if (before.Comment !== after.Comment) p.Comment = after.Comment || null;
  if (before.DNSRoutingEnabled !== after.DNSRoutingEnabled) p.DNSRoutingEnabled = after.DNSRoutingEnabled;
  if (before.SmartHosts !== after.SmartHosts && !after.DNSRoutingEnabled) p.SmartHosts = after.SmartHosts.split(/[,;\s]+/).filter(Boolean);
  if (before.SmartHostAuthMechanism !== after.SmartHostAuthMechanism && !after.DNSRoutingEnabled) p.SmartHostAuthMechanism = after.SmartHostAuthMechanism;
  if (before.UseExternalDNSServersEnabled !== after.UseExternalDNSServersEnabled) p.UseExternalDNSServersEnabled = after.UseExternalDNSServersEnabled;
  if (before.Port !== after.Port) p.Port = after.Port;
  if (before.RequireTLS !== after.RequireTLS) p.RequireTLS = after.RequireTLS;
  if (before.TlsAuthLevel !== after.TlsAuthLevel) p.TlsAuthLevel = after.TlsAuthLevel || null;
  if (before.TlsDomain !== after.TlsDomain) p.TlsDomain = after.TlsDomain || null;
  if (before.TlsCertificateName !== after.TlsCertificateName) p.TlsCertificateName = after.TlsCertificateName;
  if (!same(before.AddressSpaces, after.AddressSpaces)) p.AddressSpaces = after.AddressSpaces;
  if (!same(before.SourceTransportServers, after.SourceTransportServers)) p.SourceTransportServers = after.SourceTransportServers;
  if (before.Fqdn !== after.Fqdn) p.Fqdn = after.Fqdn || null;
  return p;
}

/** EAC's "Exchange Send Connector" dialog: general, delivery and scoping. */
export function EditSendConnectorDialog(props: { name: string; initialTab?: string; onClose(): void }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const q = useCmdletQuery('Get-SendConnector', { Identity: props.name });
  const [tab, setTab] = useState<TabName>((['general', 'delivery', 'scoping'].includes(props.initialTab ?? '') ? props.initialTab : 'general') as TabName);
  const [before, setBefore] = useState<Form>();
  const [form, setForm] = useState<Form>();
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const c = q.data?.[0];
    if (c && !before) {
      const f = toForm(c);
      setBefore(f);
      setForm(f);
    }
  }, [q.data]);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => (f ? { ...f, [k]: v } : f));

  const save = async () => {
    if (!form || !before) return;
    const p = changes(before, form);
    if (Object.keys(p).length === 0) return props.onClose();
    setBusy(true);
    const res = await run('Set-SendConnector', { Identity: props.name, ...p });
    setBusy(false);
    if (!res.ok) {
      setError(res.error);
      const t = TAB_OF[res.error?.parameter?.toLowerCase() ?? ''];
      if (t) setTab(t);
      return;
    }
    notify(`Send connector "${form.Name}" saved.`);
    props.onClose();
  };

  return (
    <Dialog open onOpenChange={(_, d) => !d.open && props.onClose()}>
      <DialogSurface style={{ maxWidth: 760, width: '100%' }}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <DialogBody>
            <DialogTitle>Exchange Send Connector — {props.name}</DialogTitle>
            <DialogContent style={{ minHeight: 420 }}>
              {q.error && <CmdletErrorBar error={q.error} />}
              {!form ? (
                !q.error && <Loading />
              ) : (
                <div style={{ display: 'grid', gridTemplateColumns: '140px 1fr', gap: 16 }}>
                  <TabList vertical selectedValue={tab} onTabSelect={(_, d) => setTab(d.value as TabName)} aria-label="Connector settings">
                    <Tab value="general">general</Tab>
                    <Tab value="delivery">delivery</Tab>
                    <Tab value="scoping">scoping</Tab>
                  </TabList>
                  <div role="tabpanel" aria-label={tab} style={{ display: 'flex', flexDirection: 'column', gap: 14 }}>
                    <CmdletErrorBar error={formError(error, Object.keys(TAB_OF))} />
                    {tab === 'general' && (
                      <>
                        <Field label="Name" validationMessage={fieldError(error, 'Name')}>
                          <Input value={form.Name} onChange={(_, d) => set('Name', d.value)} />
                        </Field>
                        <Field label="Connector status" validationMessage={fieldError(error, 'Enabled')}>
                          <Switch checked={form.Enabled} label={form.Enabled ? 'Enabled' : 'Disabled'} onChange={(_, d) => set('Enabled', d.checked)} />
                        </Field>
                        <Field label="Protocol logging level" validationMessage={fieldError(error, 'ProtocolLoggingLevel')}>
                          <RadioGroup layout="horizontal" value={form.ProtocolLoggingLevel} onChange={(_, d) => set('ProtocolLoggingLevel', d.value)}>
                            <Radio value="None" label="None" />
                            <Radio value="Verbose" label="Verbose" />
                          </RadioGroup>
                        </Field>
                        <Field label="Maximum send message size" hint="For example 35MB, or unlimited" validationMessage={fieldError(error, 'MaxMessageSize')}>
                          <Input value={form.MaxMessageSize} onChange={(_, d) => set('MaxMessageSize', d.value)} />
                        </Field>
                        <Field label="Comment" validationMessage={fieldError(error, 'Comment')}>
                          <Textarea value={form.Comment} onChange={(_, d) => set('Comment', d.value)} />
                        </Field>
                      </>
                    )}
                    {tab === 'delivery' && (
                      <>
                        <Field label="Network settings" validationMessage={fieldError(error, 'DNSRoutingEnabled')}>
                          <RadioGroup value={form.DNSRoutingEnabled ? 'mx' : 'smarthost'} onChange={(_, d) => set('DNSRoutingEnabled', d.value === 'mx')}>
                            <Radio value="mx" label="MX record associated with recipient domain" />
                            <Radio value="smarthost" label="Route mail through smart hosts" />
                          </RadioGroup>
                        </Field>
                        {!form.DNSRoutingEnabled && (
                          <>
                            <Field label="Smart hosts" hint="Separated by commas" validationMessage={fieldError(error, 'SmartHosts')}>
                              <Input value={form.SmartHosts} onChange={(_, d) => set('SmartHosts', d.value)} />
                            </Field>
                            <Field label="Smart host authentication" validationMessage={fieldError(error, 'SmartHostAuthMechanism')}>
                              <Dropdown value={form.SmartHostAuthMechanism} selectedOptions={[form.SmartHostAuthMechanism]} onOptionSelect={(_, d) => d.optionValue && set('SmartHostAuthMechanism', d.optionValue)}>
                                <Option value="None">None</Option>
                                <Option value="ExchangeServer">ExchangeServer</Option>
                                <Option value="ExternalAuthoritative">ExternalAuthoritative</Option>
                              </Dropdown>
                            </Field>
                          </>
                        )}
                        <Checkbox label="Use the external DNS lookup settings on servers with transport roles" checked={form.UseExternalDNSServersEnabled} onChange={(_, d) => set('UseExternalDNSServersEnabled', !!d.checked)} />
                        <Field label="Port" validationMessage={fieldError(error, 'Port')}>
                          <Input value={form.Port} onChange={(_, d) => set('Port', d.value)} style={{ maxWidth: 120 }} />
                        </Field>
                        <Checkbox label="Require TLS (RequireTLS)" checked={form.RequireTLS} onChange={(_, d) => set('RequireTLS', !!d.checked)} />
                        {fieldError(error, 'RequireTLS') && <CmdletErrorBar error={error} />}
                        <Field label="TLS authentication level" validationMessage={fieldError(error, 'TlsAuthLevel')}>
                          <Dropdown value={form.TlsAuthLevel || '(not set)'} selectedOptions={[form.TlsAuthLevel]} onOptionSelect={(_, d) => set('TlsAuthLevel', d.optionValue ?? '')}>
                            <Option value="">(not set)</Option>
                            <Option value="EncryptionOnly">EncryptionOnly</Option>
                            <Option value="CertificateValidation">CertificateValidation</Option>
                            <Option value="DomainValidation">DomainValidation</Option>
                          </Dropdown>
                        </Field>
                        <Field label="TLS domain" validationMessage={fieldError(error, 'TlsDomain')}>
                          <Input value={form.TlsDomain} onChange={(_, d) => set('TlsDomain', d.value)} />
                        </Field>
                        <TlsCertificateChooser value={form.TlsCertificateName} sourceServers={form.SourceTransportServers} onChange={(v) => set('TlsCertificateName', v)} error={fieldError(error, 'TlsCertificateName')} />
                      </>
                    )}
                    {tab === 'scoping' && (
                      <>
                        <AddressSpaceEditor value={form.AddressSpaces} onChange={(v) => set('AddressSpaces', v)} error={fieldError(error, 'AddressSpaces')} />
                        <Field label="Specify the FQDN this connector will provide in response to HELO or EHLO." validationMessage={fieldError(error, 'Fqdn')}>
                          <Input value={form.Fqdn} onChange={(_, d) => set('Fqdn', d.value)} />
                        </Field>
                        <ServerListEditor value={form.SourceTransportServers} onChange={(v) => set('SourceTransportServers', v)} error={fieldError(error, 'SourceTransportServers')} />
                      </>
                    )}
                  </div>
                </div>
              )}
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" type="submit" disabled={busy || !form}>
                {busy ? 'Saving…' : 'Save'}
              </Button>
              <Button type="button" onClick={props.onClose}>
                Cancel
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
