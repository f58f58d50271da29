import { Badge, Checkbox, Field, Input, makeStyles, MessageBar, MessageBarBody, Radio, RadioGroup, Text, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { AddRegular, ArrowClockwiseRegular, ArrowSyncRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { fieldError, formError, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { WireError } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, Detail, formatDate, formatDateTime, list, Loading, PageHeader, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { ObjectList } from '../components/object-list';
import { ServerPicker } from '../components/server-picker';

// Servers > ACME: the organization's ACME account and the certificates that
// renew themselves, with their renewal state. Each action is one cmdlet
// (New-AcmeAccount, Request-AcmeCertificate, Update-AcmeCertificate); what a
// renewal does (lease, rotation, grace period) is the cmdlets', not the page's.

const useStyles = makeStyles({
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  layout: { display: 'grid', gridTemplateColumns: 'minmax(480px, 1fr) 400px', gap: '20px', alignItems: 'start', marginTop: '8px' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px', backgroundColor: tokens.colorNeutralBackground1 },
  paneTitle: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, margin: '0 0 8px 0', wordBreak: 'break-word' },
  account: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '10px 16px', margin: '8px 0 12px 0' },
  explanation: { display: 'block', color: tokens.colorNeutralForeground2 },
});

/** Request-AcmeCertificate -ChallengeType, as the dialog offers it. */
const CHALLENGES = [
  { value: 'Http01', label: 'http-01', explanation: 'This server answers HTTP on a port while the request runs; each name must resolve to it for the CA.' },
  { value: 'TlsAlpn01', label: 'tls-alpn-01', explanation: 'This server answers TLS on a port while the request runs; each name must resolve to it for the CA.' },
  { value: 'Dns01', label: 'dns-01', explanation: "A TXT record on the ACME account's DNS update server: for names no host answers for, and wildcards (*.contoso.com)." },
];

const STATE: Record<string, { label: string; color: 'success' | 'informative' | 'danger' | 'subtle' }> = {
  Scheduled: { label: 'Scheduled', color: 'success' },
  Renewing: { label: 'Renewing now', color: 'informative' },
  Failing: { label: 'Failing', color: 'danger' },
  NotInstalled: { label: 'Not installed', color: 'subtle' },
};

function NewAccountDialog(props: { onClose(): void; onDone(): void }) {
  const run = useCmdlet();
  const [url, setUrl] = useState('');
  const [contact, setContact] = useState('');
  const [terms, setTerms] = useState(false);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const res = await run('New-AcmeAccount', {
      DirectoryUrl: url.trim(),
      ContactEmail: contact.split(/[,;\s]+/).filter(Boolean),
      AcceptTermsOfService: terms,
    });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone();
  };
  return (
    <FormDialog open title="New ACME account" submitLabel="Create" busy={busy} canSubmit={!!url.trim()} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['DirectoryUrl', 'ContactEmail'])} />
      <Field label="ACME directory URL" required hint="e.g. https://acme-v02.api.letsencrypt.org/directory" validationMessage={fieldError(error, 'DirectoryUrl')}>
        <Input value={url} onChange={(_, d) => setUrl(d.value)} />
      </Field>
      <Field label="Contact e-mail addresses" hint="The CA writes to them about expiring certificates. Separate several with commas." validationMessage={fieldError(error, 'ContactEmail')}>
        <Input value={contact} onChange={(_, d) => setContact(d.value)} />
      </Field>
      <Checkbox label="I agree to the certification authority's terms of service" checked={terms} onChange={(_, d) => setTerms(!!d.checked)} />
    </FormDialog>
  );
}

/** How the certificate's renewals prove control of its names, as Get-AcmeCertificate's ChallengeType says. */
function challengeText(cert: Record<string, unknown>): string {
  if (cert.ChallengeType === 'Dns01') return 'dns-01 through the ACME account\'s DNS update server';
  if (cert.ChallengeType === 'TlsAlpn01') return `tls-alpn-01 on port ${str(cert.TlsAlpnPort)}`;
  return `http-01 on port ${str(cert.HttpPort)}`;
}

function RequestDialog(props: { server: string; onClose(): void; onDone(thumbprint: string): void }) {
  const s = useStyles();
  const run = useCmdlet();
  const [names, setNames] = useState('');
  const [challenge, setChallenge] = useState('Http01');
  const [ports, setPorts] = useState<Record<string, string>>({ Http01: '80', TlsAlpn01: '443' });
  const [smtp, setSmtp] = useState(true);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const port = ports[challenge];
  const portParameter = challenge === 'Http01' ? 'HttpPort' : 'TlsAlpnPort';
  const submit = async () => {
    setBusy(true);
    const domainNames = names.split(/[,;\s]+/).filter(Boolean);
    const res = await run('Request-AcmeCertificate', {
      Server: props.server,
      ...(domainNames.length ? { DomainName: domainNames } : {}),
      ...(challenge === 'Http01' ? {} : { ChallengeType: challenge }),
      ...(port === undefined ? {} : { [portParameter]: Number(port) }),
      ...(smtp ? { Services: 'SMTP' } : {}),
    });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone(str(res.output[0]?.Thumbprint));
  };
  const label = CHALLENGES.find((c) => c.value === challenge)?.label;
  return (
    <FormDialog open title={`Request a certificate for ${props.server}`} submitLabel="Request" busy={busy} canSubmit={port === undefined || /^\d+$/.test(port)} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['DomainName', 'ChallengeType', 'HttpPort', 'TlsAlpnPort'])} />
      <Field label="Domain names" hint="Leave empty for the server's FQDN and its connectors' FQDNs." validationMessage={fieldError(error, 'DomainName')}>
        <Input value={names} onChange={(_, d) => setNames(d.value)} />
      </Field>
      <Field label="How the certification authority validates the names" validationMessage={fieldError(error, 'ChallengeType')}>
        <RadioGroup value={challenge} onChange={(_, d) => setChallenge(d.value)}>
          {CHALLENGES.map((c) => (
            <Radio
              key={c.value}
              value={c.value}
              label={
                <>
                  {c.label}
                  <Text size={200} className={s.explanation}>
                    {c.explanation}
                  </Text>
                </>
              }
            />
          ))}
        </RadioGroup>
      </Field>
      {port !== undefined && (
        <Field label={`Port the server answers the ${label} challenge on`} hint={`${challenge === 'Http01' ? 80 : 443} for a public CA, or a port forwarded to it.`} validationMessage={fieldError(error, portParameter)}>
          <Input value={port} onChange={(_, d) => setPorts({ ...ports, [challenge]: d.value })} inputMode="numeric" />
        </Field>
      )}
      <Checkbox label="Assign it to SMTP" checked={smtp} onChange={(_, d) => setSmtp(!!d.checked)} />
      <Text size={200} block>
        It renews itself two thirds into its lifetime, by the same challenge; the certificate it replaces is removed a day later.
      </Text>
    </FormDialog>
  );
}

export function AcmePage() {
  const s = useStyles();
  const run = useCmdlet();
  const [server, setServer] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [dialog, setDialog] = useState<'account' | 'request' | 'renew' | undefined>();
  const [renewError, setRenewError] = useState<WireError>();
  const [notice, setNotice] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const account = useCmdletQuery('Get-AcmeAccount', {});
  const certs = useCmdletQuery('Get-AcmeCertificate', {});
  const items = certs.data ?? [];
  const cert = items.find((c) => c.Thumbprint === selected);
  const acct = account.data?.[0];

  const renew = async () => {
    if (!cert) return;
    setBusy(true);
    const res = await run('Update-AcmeCertificate', { Thumbprint: str(cert.Thumbprint) }, { confirmed: true });
    setBusy(false);
    certs.reload();
    if (!res.ok) return setRenewError(res.error);
    setDialog(undefined);
    setNotice(res.warnings ?? []);
    setSelected(str(res.output[0]?.Thumbprint));
  };

  return (
    <>
      <PageHeader title="ACME" description="Certificates from an ACME certification authority (Let's Encrypt, or an internal CA that speaks ACME) that renew themselves, and the organization's account with the CA.">
        <ServerPicker value={server} onChange={setServer} />
      </PageHeader>
      <CmdletErrorBar error={account.error} />
      <section aria-label="ACME account" className={s.account}>
        {account.loading && !account.data ? (
          <Loading />
        ) : acct ? (
          <dl style={{ margin: 0 }}>
            <Detail label="Certification authority">{str(acct.DirectoryUrl)}</Detail>
            <Detail label="Contact">{list(acct.ContactEmail).join(', ') || 'None'}</Detail>
            <Detail label="Account" mono>
              {str(acct.AccountUrl)}
            </Detail>
            <Detail label="DNS update server (dns-01)">
              {acct.DnsUpdateServer
                ? `${str(acct.DnsUpdateServer)} (key ${str(acct.DnsUpdateKeyName)}, ${str(acct.DnsUpdateKeyAlgorithm)}${acct.DnsUpdateZone ? `, zone ${str(acct.DnsUpdateZone)}` : ''})`
                : 'None: Set-AcmeAccount -DnsUpdateServer gives it one'}
            </Detail>
          </dl>
        ) : (
          <Text>The organization has no ACME account yet. Create one to request certificates from an ACME certification authority.</Text>
        )}
      </section>
      {notice.map((n, i) => (
        <MessageBar key={i} intent="info">
          <MessageBarBody>{n}</MessageBarBody>
        </MessageBar>
      ))}
      <Toolbar aria-label="ACME actions" className={s.toolbar}>
        {!acct && !account.loading && (
          <ToolbarButton icon={<AddRegular />} onClick={() => setDialog('account')}>
            New account
          </ToolbarButton>
        )}
        <ToolbarButton icon={<AddRegular />} disabled={!acct || !server} onClick={() => setDialog('request')}>
          Request certificate
        </ToolbarButton>
        <ToolbarButton icon={<ArrowSyncRegular />} disabled={!cert} onClick={() => setDialog('renew')}>
          Renew now
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton
          icon={<ArrowClockwiseRegular />}
          onClick={() => {
            account.reload();
            certs.reload();
          }}
        >
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={certs.error} />
      <div className={s.layout}>
        <div>
          {certs.loading && !certs.data ? (
            <Loading />
          ) : (
            <ObjectList
              label="Certificates that renew themselves"
              items={items}
              getKey={(c) => str(c.Thumbprint)}
              selectedKey={selected}
              onSelect={setSelected}
              columns={[
                { id: 'names', title: 'Domains', grow: 2, sortValue: (c) => list(c.DomainNames).join(', '), render: (c) => list(c.DomainNames).join(', ') },
                { id: 'servers', title: 'Servers', sortValue: (c) => list(c.Servers).join(', '), render: (c) => list(c.Servers).join(', ') },
                { id: 'expires', title: 'Expires on', sortValue: (c) => str(c.NotAfter), render: (c) => formatDate(c.NotAfter) },
                { id: 'state', title: 'Renewal', sortValue: (c) => str(c.RenewalState), render: (c) => <StateBadge state={str(c.RenewalState)} /> },
                { id: 'next', title: 'Next renewal', sortValue: (c) => str(c.NextRenewal), render: (c) => formatDate(c.NextRenewal) },
              ]}
              empty="No certificate renews itself yet. Request one from the certification authority."
            />
          )}
        </div>
        <aside className={s.pane} aria-label="ACME certificate details">
          {!cert ? (
            <Text>Select a certificate to see its renewals.</Text>
          ) : (
            <>
              <h2 className={s.paneTitle}>{list(cert.DomainNames).join(', ')}</h2>
              <dl style={{ margin: 0 }}>
                <Detail label="Renewal">
                  <StateBadge state={str(cert.RenewalState)} />
                </Detail>
                <Detail label="Next renewal">{formatDateTime(cert.NextRenewal)}</Detail>
                <Detail label="Valid from">{formatDate(cert.NotBefore)}</Detail>
                <Detail label="Expires on">{formatDate(cert.NotAfter)}</Detail>
                <Detail label="Installed on">{list(cert.Servers).join(', ') || 'No server'}</Detail>
                <Detail label="Requested by">{`${str(cert.RequestServer)} (${challengeText(cert)})`}</Detail>
                {cert.RenewingServer ? <Detail label="Being renewed by">{str(cert.RenewingServer)}</Detail> : null}
                {cert.LastAttempt ? <Detail label="Last attempt">{formatDateTime(cert.LastAttempt)}</Detail> : null}
                {cert.LastError ? <Detail label="Last error">{str(cert.LastError)}</Detail> : null}
                <Detail label="Replaced certificates kept for">{str(cert.OldCertificateGracePeriod)}</Detail>
                {list(cert.RetiringCertificates).length > 0 && <Detail label="Replaced, to be removed">{list(cert.RetiringCertificates).join('; ')}</Detail>}
                <Detail label="Thumbprint" mono>
                  {str(cert.Thumbprint)}
                </Detail>
              </dl>
            </>
          )}
        </aside>
      </div>
      {dialog === 'account' && (
        <NewAccountDialog
          onClose={() => setDialog(undefined)}
          onDone={() => {
            setDialog(undefined);
            account.reload();
          }}
        />
      )}
      {dialog === 'request' && server && (
        <RequestDialog
          server={server}
          onClose={() => setDialog(undefined)}
          onDone={(tp) => {
            setDialog(undefined);
            certs.reload();
            setSelected(tp);
          }}
        />
      )}
      {cert && (
        <ConfirmDialog
          open={dialog === 'renew'}
          title={renewError ? 'The certificate was not renewed' : 'Renew now'}
          text={`Renew the certificate for ${list(cert.DomainNames).join(', ')} now? The new certificate replaces it on every server that holds it, and the Send connectors follow it; this one is removed after ${str(cert.OldCertificateGracePeriod)}.`}
          confirmLabel="Renew"
          busy={busy}
          error={renewError}
          onConfirm={renew}
          onCancel={() => {
            setDialog(undefined);
            setRenewError(undefined);
          }}
        />
      )}
    </>
  );
}

function StateBadge(props: { state: string }) {
  const st = STATE[props.state] ?? { label: props.state, color: 'subtle' as const };
  return (
    <Badge appearance="tint" color={st.color}>
      {st.label}
    </Badge>
  );
}
