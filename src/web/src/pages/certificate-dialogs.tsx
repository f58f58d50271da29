import { Checkbox, Field, Input, Link, MessageBar, MessageBarBody, Radio, RadioGroup, Spinner, Text, Textarea } from '@fluentui/react-components';
import { useEffect, useState } from 'react';
import { fieldError, formError, useAdmin, useCmdlet } from '../api/admin-context';
import { bytes, secure, type CmdletObject, type WireError } from '../api/client';
import { CheckboxGroup } from '../components/checkbox-group';
import { CmdletErrorBar, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { download, readFileBase64 } from '../lib/files';

const SERVICES = ['SMTP', 'IMAP', 'POP', 'IIS'];
const splitNames = (text: string) => text.split(/[,;\s]+/).map((x) => x.trim()).filter(Boolean);

function FilePicker(props: { label: string; hint?: string; accept?: string; error?: string; onFile(f: File | undefined): void }) {
  return (
    <Field label={props.label} hint={props.hint} validationMessage={props.error} validationState={props.error ? 'error' : 'none'} required>
      {(fieldProps) => <input {...fieldProps} type="file" accept={props.accept} onChange={(e) => props.onFile(e.currentTarget.files?.[0] ?? undefined)} />}
    </Field>
  );
}

interface DialogProps {
  server: string;
  onClose(): void;
  onDone(thumbprint?: string): void;
}

/** New-ExchangeCertificate: self-signed or a request for a certification authority. */
export function NewCertificateDialog(props: DialogProps & { mode: 'self-signed' | 'request' }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const [friendlyName, setFriendlyName] = useState('');
  const [subject, setSubject] = useState('');
  const [domains, setDomains] = useState('');
  const [services, setServices] = useState<string[]>(['SMTP']);
  const [keySize, setKeySize] = useState('2048');
  const [exportable, setExportable] = useState(false);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const [request, setRequest] = useState<{ text: string; thumbprint?: string }>();
  const request_ = props.mode === 'request';

  const submit = async () => {
    setBusy(true);
    const res = await run('New-ExchangeCertificate', {
      Server: props.server,
      GenerateRequest: request_ ? true : undefined,
      FriendlyName: friendlyName || undefined,
      SubjectName: subject || undefined,
      DomainName: domains ? splitNames(domains) : undefined,
      Services: request_ ? undefined : services.length ? services.join(',') : 'None',
      KeySize: Number(keySize),
      PrivateKeyExportable: exportable,
    });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    const cert = res.output[0];
    if (request_) {
      // As in Exchange, the output is the request's Base64 text; the pending request it left is found by that text.
      const text = typeof cert === 'string' ? cert : str(cert?.CertificateRequest);
      const listed = await run('Get-ExchangeCertificate', { Server: props.server });
      const pending = listed.ok ? listed.output.find((c) => c.Status === 'PendingRequest' && str(c.CertificateRequest) === text) : undefined;
      setRequest({ text, thumbprint: pending ? str(pending.Thumbprint) : undefined });
      return;
    }
    notify(`Certificate "${str(cert?.FriendlyName)}" created on ${props.server}.`);
    props.onDone(str(cert?.Thumbprint));
  };

  if (request) {
    return (
      <FormDialog open hideCancel title="Certificate request created" submitLabel="Close" onSubmit={() => props.onDone(request.thumbprint)} onClose={() => props.onDone(request.thumbprint)} wide>
        <Text>
          Send this request to your certification authority. When it issues the certificate, select the pending request and choose <b>Complete</b> to import the issued file.
        </Text>
        <Field label="Certificate request (PKCS #10)">
          <Textarea readOnly value={request.text} rows={10} style={{ fontFamily: 'monospace' }} />
        </Field>
        <Link onClick={() => download(`${props.server}-${(request.thumbprint ?? 'request').slice(0, 8)}.req`, { text: request.text })}>Download the request file</Link>
      </FormDialog>
    );
  }

  const fields = ['FriendlyName', 'SubjectName', 'DomainName', 'Services', 'KeySize'];
  return (
    <FormDialog open title={request_ ? 'New certificate request' : 'New self-signed certificate'} submitLabel={request_ ? 'Create request' : 'Create'} busy={busy} onSubmit={submit} onClose={props.onClose}>
      <Text>
        On server <b>{props.server}</b>.
      </Text>
      <CmdletErrorBar error={formError(error, fields)} />
      <Field label="Friendly name" hint="Default: Microsoft Exchange" validationMessage={fieldError(error, 'FriendlyName')}>
        <Input value={friendlyName} onChange={(_, d) => setFriendlyName(d.value)} />
      </Field>
      <Field label="Subject name" hint={`For example CN=mail.contoso.com, O=Contoso, C=US. Default: CN=${props.server}`} validationMessage={fieldError(error, 'SubjectName')}>
        <Input value={subject} onChange={(_, d) => setSubject(d.value)} />
      </Field>
      <Field label="Domains (subject alternative names)" hint="Separated by commas. Default: the server's name and FQDN." validationMessage={fieldError(error, 'DomainName')}>
        <Input value={domains} onChange={(_, d) => setDomains(d.value)} />
      </Field>
      {!request_ && (
        <CheckboxGroup label="Services" columns={4} options={SERVICES.map((x) => ({ value: x, label: x }))} value={services} onChange={setServices} error={fieldError(error, 'Services')} />
      )}
      <Field label="Key size" validationMessage={fieldError(error, 'KeySize')}>
        <RadioGroup layout="horizontal" value={keySize} onChange={(_, d) => setKeySize(d.value)}>
          <Radio value="2048" label="2048 bits" />
          <Radio value="4096" label="4096 bits" />
        </RadioGroup>
      </Field>
      <Checkbox label="Make the private key exportable" checked={exportable} onChange={(_, d) => setExportable(!!d.checked)} />
    </FormDialog>
  );
}

/** Import-ExchangeCertificate with a PFX (or, to complete a request, the CA's issued file). */
export function ImportCertificateDialog(props: DialogProps & { completing?: CmdletObject }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const [file, setFile] = useState<File>();
  const [password, setPassword] = useState('');
  const [friendlyName, setFriendlyName] = useState('');
  const [exportable, setExportable] = useState(false);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const completing = props.completing;

  const submit = async () => {
    if (!file) return;
    setBusy(true);
    const res = await run('Import-ExchangeCertificate', {
      Server: props.server,
      FileData: bytes(await readFileBase64(file)),
      Password: password ? secure(password) : undefined,
      FriendlyName: friendlyName || undefined,
      PrivateKeyExportable: completing ? undefined : exportable,
    });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    const cert = res.output[0];
    notify(completing ? `The request was completed on ${props.server}.` : `Certificate "${str(cert?.FriendlyName)}" imported on ${props.server}.`);
    props.onDone(str(cert?.Thumbprint));
  };

  const fields = ['FileData', 'Password', 'FriendlyName'];
  return (
    <FormDialog open title={completing ? 'Complete pending request' : 'Import Exchange certificate'} submitLabel={completing ? 'Complete' : 'Import'} busy={busy} canSubmit={!!file} onSubmit={submit} onClose={props.onClose}>
      <Text>
        {completing ? (
          <>
            Import the certificate your certification authority issued for the request <b>{str(completing.Subject)}</b> on <b>{props.server}</b>.
          </>
        ) : (
          <>
            Install a certificate with its private key on <b>{props.server}</b>. It has no services until you assign some.
          </>
        )}
      </Text>
      <CmdletErrorBar error={formError(error, fields)} />
      <FilePicker
        label={completing ? 'Issued certificate file' : 'Certificate file (.pfx, .p12)'}
        hint={completing ? '.cer, .crt, .pem or .p7b' : undefined}
        accept={completing ? '.cer,.crt,.pem,.p7b,.p7c,.der' : '.pfx,.p12,.pem,.cer,.crt,.p7b'}
        error={fieldError(error, 'FileData')}
        onFile={setFile}
      />
      {!completing && (
        <>
          <Field label="Password" validationMessage={fieldError(error, 'Password')}>
            <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="off" />
          </Field>
          <Field label="Friendly name" hint="Optional" validationMessage={fieldError(error, 'FriendlyName')}>
            <Input value={friendlyName} onChange={(_, d) => setFriendlyName(d.value)} />
          </Field>
          <Checkbox label="Make the private key exportable" checked={exportable} onChange={(_, d) => setExportable(!!d.checked)} />
        </>
      )}
    </FormDialog>
  );
}

/** Export-ExchangeCertificate to a file the browser saves. */
export function ExportCertificateDialog(props: DialogProps & { certificate: CmdletObject }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const pending = props.certificate.Status === 'PendingRequest';

  const submit = async () => {
    setBusy(true);
    const res = await run('Export-ExchangeCertificate', { Server: props.server, Thumbprint: str(props.certificate.Thumbprint), BinaryEncoded: !!password || undefined, Password: password ? secure(password) : undefined }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    const data = res.output[0]?.FileData as { $bytes: string } | undefined;
    const base = `${props.server}-${str(props.certificate.Thumbprint).slice(0, 8)}`;
    if (data) download(password ? `${base}.pfx` : pending ? `${base}.req` : `${base}.cer`, { base64: data.$bytes }, password ? 'application/x-pkcs12' : 'application/pkix-cert');
    notify('The certificate was exported.');
    props.onDone();
  };

  return (
    <FormDialog open title="Export Exchange certificate" submitLabel="Export" busy={busy} onSubmit={submit} onClose={props.onClose}>
      <Text>
        {pending ? 'Exports the pending request.' : 'With a password, the private key is exported too (PFX). Without one, only the certificate.'}
      </Text>
      <CmdletErrorBar error={formError(error, ['Password'])} />
      {!pending && (
        <Field label="Password" hint="Leave empty to export the certificate without its private key." validationMessage={fieldError(error, 'Password')}>
          <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="off" />
        </Field>
      )}
    </FormDialog>
  );
}

/** Enable-ExchangeCertificate: services are added, never removed, as in Exchange. */
export function AssignServicesDialog(props: DialogProps & { certificate: CmdletObject }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const has = str(props.certificate.Services).split(',').map((x) => x.trim()).filter((x) => x && x !== 'None');
  const [chosen, setChosen] = useState<string[]>(has);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const added = chosen.filter((x) => !has.includes(x));

  const submit = async () => {
    setBusy(true);
    const res = await run('Enable-ExchangeCertificate', { Server: props.server, Thumbprint: str(props.certificate.Thumbprint), Services: added.join(',') });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`Services assigned: ${added.join(', ')}.`);
    props.onDone(str(props.certificate.Thumbprint));
  };

  return (
    <FormDialog open title="Assign services to certificate" submitLabel="Save" busy={busy} canSubmit={added.length > 0} onSubmit={submit} onClose={props.onClose}>
      <Text>
        <b>{str(props.certificate.FriendlyName)}</b> on {props.server}. Services already assigned can't be removed; assign them to another certificate instead.
      </Text>
      <CmdletErrorBar error={formError(error, ['Services'])} />
      <CheckboxGroup
        label="Services"
        columns={4}
        options={SERVICES.map((x) => ({ value: x, label: x, disabled: has.includes(x) }))}
        value={chosen}
        onChange={setChosen}
        error={fieldError(error, 'Services')}
      />
    </FormDialog>
  );
}



/**
 * Switch-ExchangeCertificate: replace a certificate on every Send connector
 * that names it and on every source server, in one step. The preview is the
 * cmdlet's own -WhatIf; the cmdlet checks everything again when it runs. The
 * replacement may be on another server than the one shown (a rotation left
 * half done), so the candidates are every server's certificates.
 */
export function RotateCertificateDialog(props: DialogProps & { certificate: CmdletObject; proposed?: string }) {
  const run = useCmdlet();
  const { api, notify } = useAdmin();
  const old = str(props.certificate.Thumbprint);
  const [candidates, setCandidates] = useState<Array<{ cert: CmdletObject; servers: string[] }>>();
  const [newTp, setNewTp] = useState(props.proposed ?? '');
  const [deploy, setDeploy] = useState(true);
  const [preview, setPreview] = useState<{ lines: string[]; error?: WireError }>();
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const params = { Thumbprint: old, NewThumbprint: newTp, DeployToSourceServers: deploy };

  useEffect(() => {
    let live = true;
    void (async () => {
      const servers = await api.invoke('Get-ExchangeServer', {});
      const found = new Map<string, { cert: CmdletObject; servers: string[] }>();
      for (const s of servers.ok ? servers.output : []) {
        const certs = await api.invoke('Get-ExchangeCertificate', { Server: str(s.Name) });
        for (const c of certs.ok ? certs.output : []) {
          if (str(c.Thumbprint) === old || c.Status === 'PendingRequest') continue;
          const entry = found.get(str(c.Thumbprint)) ?? { cert: c, servers: [] as string[] };
          entry.servers.push(str(s.Name));
          // The copy holding a key describes the certificate best.
          if (!entry.cert.HasPrivateKey && c.HasPrivateKey) entry.cert = c;
          found.set(str(c.Thumbprint), entry);
        }
      }
      if (!live) return;
      const list = [...found.values()];
      setCandidates(list);
      // Most likely wanted: the renewal, same subject and issuer, expiring last.
      const renewal = list
        .map((x) => x.cert)
        .filter((c) => c.Subject === props.certificate.Subject && c.Issuer === props.certificate.Issuer)
        .sort((a, b) => str(b.NotAfter).localeCompare(str(a.NotAfter)))[0];
      setNewTp((t) => t || str(renewal?.Thumbprint));
    })();
    return () => {
      live = false;
    };
  }, [api, old]);

  const chosen = candidates?.find((x) => str(x.cert.Thumbprint) === newTp)?.cert;
  const showPreview = async () => {
    const res = await api.invoke('Switch-ExchangeCertificate', params, { whatIf: true });
    setPreview({ lines: res.whatIf, error: res.ok ? undefined : res.error });
  };
  const submit = async () => {
    setBusy(true);
    const res = await run('Switch-ExchangeCertificate', params, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`Certificate replaced on ${res.output.length} connector and server pair${res.output.length === 1 ? '' : 's'}.`);
    props.onDone(newTp);
  };

  return (
    <FormDialog open wide title="Replace certificate on every server" submitLabel="Replace" busy={busy} canSubmit={!!newTp} onSubmit={submit} onClose={props.onClose} footer={<Link onClick={showPreview}>Preview (-WhatIf)</Link>}>
      <Text>
        Replaces <b>{str(props.certificate.FriendlyName) || str(props.certificate.Subject) || old}</b> ({old}) on every Send connector that names it and on each of their source servers, then removes it. Mail
        keeps flowing: no transport service is stopped. If any server lacks a usable replacement, nothing changes.
      </Text>
      <CmdletErrorBar error={formError(error, ['NewThumbprint'])} />
      <Field label="Replacement certificate" validationMessage={fieldError(error, 'NewThumbprint')} validationState={fieldError(error, 'NewThumbprint') ? 'error' : 'none'} required>
        {!candidates ? (
          <Spinner size="tiny" label="Loading the certificates of every server" />
        ) : (
          <RadioGroup value={newTp} onChange={(_, d) => setNewTp(d.value)}>
            {candidates.map(({ cert: c, servers }) => (
              <Radio
                key={str(c.Thumbprint)}
                value={str(c.Thumbprint)}
                label={`${str(c.FriendlyName) || str(c.Subject)} — ${str(c.Subject)}, expires ${str(c.NotAfter).slice(0, 10)}, on ${servers.join(', ')} (${str(c.Thumbprint)})`}
              />
            ))}
          </RadioGroup>
        )}
      </Field>
      <Checkbox checked={deploy} onChange={(_, d) => setDeploy(!!d.checked)} label="Copy the replacement with its private key to source servers that lack it (inside the organization: the key need not be exportable)" />
      {chosen?.HasPrivateKey === true && chosen.PrivateKeyExportable === false && (
        <MessageBar intent="info" layout="multiline">
          <MessageBarBody>
            The replacement&apos;s private key is not exportable. That is no obstacle and no reason to import it again: the copy never leaves the organization&apos;s store, where every server&apos;s keys are kept
            sealed under the organization&apos;s key, and it stays not exportable on every server.
          </MessageBarBody>
        </MessageBar>
      )}
      {preview && (
        <section aria-label="Preview">
          <CmdletErrorBar error={preview.error} />
          {preview.lines.map((l, i) => (
            <Text key={i} as="p" font="monospace" size={200}>
              {l}
            </Text>
          ))}
        </section>
      )}
    </FormDialog>
  );
}
