import {
  Badge,
  Link,
  makeStyles,
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  MessageBar,
  MessageBarBody,
  Text,
  Toolbar,
  ToolbarButton,
  ToolbarDivider,
  tokens,
  Tooltip,
} from '@fluentui/react-components';
import {
  AddRegular,
  ArrowClockwiseRegular,
  ArrowDownloadRegular,
  ArrowUploadRegular,
  CheckmarkCircleRegular,
  DeleteRegular,
  EditRegular,
  ErrorCircleRegular,
  WarningRegular,
} from '@fluentui/react-icons';
import { useEffect, useRef, useState } from 'react';
import { useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, Detail, formatDate, Loading, PageHeader, str } from '../components/common';
import { ObjectList } from '../components/object-list';
import { ServerPicker } from '../components/server-picker';
import { type CertificateAlert, tlsCertificateNameOf } from '../lib/certificate-alerts';
import { NavLink } from '../components/nav-link';
import { useLocation } from '../router';
import { AssignServicesDialog, ExportCertificateDialog, ImportCertificateDialog, NewCertificateDialog, RotateCertificateDialog } from './certificate-dialogs';

const useStyles = makeStyles({
  layout: { display: 'grid', gridTemplateColumns: 'minmax(420px, 1fr) 400px', gap: '20px', alignItems: 'start', marginTop: '8px' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px', backgroundColor: tokens.colorNeutralBackground1 },
  paneTitle: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, margin: '0 0 8px 0', wordBreak: 'break-word' },
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  name: { display: 'flex', alignItems: 'center', gap: '6px', flexWrap: 'wrap' },
  alerts: { display: 'flex', flexDirection: 'column', gap: '6px', margin: '8px 0' },
});

const STATUS_LABEL: Record<string, string> = {
  Valid: 'Valid',
  Invalid: 'Invalid',
  Revoked: 'Revoked',
  DateInvalid: 'Date invalid',
  PendingRequest: 'Pending request',
  Untrusted: 'Untrusted',
  RevocationCheckFailure: 'Revocation check failed',
  Unknown: 'Unknown',
};

/** The Send connectors that made Remove-ExchangeCertificate refuse, as the cmdlet reports them. */
function taggedConnectors(error: { details?: Record<string, unknown> }): string[] {
  const names = error.details?.connectors;
  return Array.isArray(names) ? names.map(String) : [];
}

export function CertificatesPage(props: { alerts: CertificateAlert[] }) {
  const s = useStyles();
  const run = useCmdlet();
  const { query } = useLocation();
  const [server, setServer] = useState<string | undefined>(query.get('server') ?? undefined);
  const [selected, setSelected] = useState<string | undefined>(query.get('thumbprint') || undefined);
  const [dialog, setDialog] = useState<'self-signed' | 'request' | 'import' | 'complete' | 'export' | 'services' | 'delete' | 'rotate' | undefined>();
  const [deleteError, setDeleteError] = useState<WireError>();
  /** The certificate being replaced and, when an alert names it, its replacement. */
  const [rotation, setRotation] = useState<{ old: CmdletObject; proposed?: string }>();
  const [busy, setBusy] = useState(false);
  const certs = useCmdletQuery('Get-ExchangeCertificate', { Server: server }, { skip: !server });
  const items = certs.data ?? [];
  const cert = items.find((c) => c.Thumbprint === selected);

  useEffect(() => {
    if (selected && certs.data && !certs.data.some((c) => c.Thumbprint === selected)) setSelected(undefined);
  }, [certs.data, selected]);

  // A notification's link may lead here while the page is open: follow it.
  const search = query.toString();
  useEffect(() => {
    if (query.get('server')) setServer(query.get('server')!);
    if (query.get('thumbprint')) setSelected(query.get('thumbprint')!);
  }, [search]);
  // ?rotate=<new thumbprint>: "Finish the rotation" from a RotationIncomplete alert, once the old certificate is listed.
  const rotateFollowed = useRef<string>(undefined);
  useEffect(() => {
    const proposed = query.get('rotate');
    const old = certs.data?.find((c) => c.Thumbprint === query.get('thumbprint'));
    if (!proposed || !old || rotateFollowed.current === search || str(old.Server).toLowerCase() !== query.get('server')?.toLowerCase()) return;
    rotateFollowed.current = search;
    setRotation({ old, proposed });
    setDialog('rotate');
  }, [search, certs.data]);

  const flagsFor = (c: CmdletObject) => props.alerts.filter((a) => a.thumbprint === c.Thumbprint && a.server.toLowerCase() === str(c.Server).toLowerCase());
  const serverAlerts = props.alerts.filter((a) => server && a.server.toLowerCase() === server.toLowerCase());

  const close = (thumbprint?: string) => {
    setDialog(undefined);
    setDeleteError(undefined);
    certs.reload();
    if (thumbprint) setSelected(thumbprint);
  };

  const remove = async () => {
    if (!cert || !server) return;
    setBusy(true);
    const res = await run('Remove-ExchangeCertificate', { Server: server, Thumbprint: str(cert.Thumbprint) }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setDeleteError(res.error);
    setSelected(undefined);
    close();
  };

  const name = (c: CmdletObject) => str(c.FriendlyName) || str(c.Subject);
  const pending = cert?.Status === 'PendingRequest';
  // Deleting the renewal of a rotation left half done (the cmdlet's alert says so) is most likely an attempt to
  // import it again with an exportable key; replacing it "on every server" would rotate back to the old one.
  const halfDone =
    cert && deleteError
      ? props.alerts.find((a) => a.kind === 'rotation-incomplete' && a.connector && taggedConnectors(deleteError).includes(a.connector) && a.newThumbprint === cert.Thumbprint)
      : undefined;
  const rotate = (old: CmdletObject, proposed?: string) => {
    setDeleteError(undefined);
    setRotation({ old, proposed });
    setDialog('rotate');
  };

  return (
    <>
      <PageHeader title="Certificates" description="The certificates installed on each server, the services they are assigned to, and certificate requests waiting for a certification authority.">
        <ServerPicker
          value={server}
          onChange={(v) => {
            setServer(v);
            setSelected(undefined);
          }}
        />
      </PageHeader>
      {serverAlerts.length > 0 && (
        <section aria-label="Certificate notifications" className={s.alerts}>
          {serverAlerts.map((a, i) => (
            <MessageBar key={i} intent={a.severity}>
              <MessageBarBody>
                {a.text}{' '}
                {a.connector && <NavLink to={`/mail-flow/send-connectors?open=${encodeURIComponent(a.connector)}&tab=delivery`}>Open the connector</NavLink>}
              </MessageBarBody>
            </MessageBar>
          ))}
        </section>
      )}
      <Toolbar aria-label="Certificate actions" className={s.toolbar}>
        <Menu>
          <MenuTrigger disableButtonEnhancement>
            <ToolbarButton icon={<AddRegular />} disabled={!server}>
              New
            </ToolbarButton>
          </MenuTrigger>
          <MenuPopover>
            <MenuList>
              <MenuItem onClick={() => setDialog('self-signed')}>Create a self-signed certificate</MenuItem>
              <MenuItem onClick={() => setDialog('request')}>Create a request for a certificate from a certification authority</MenuItem>
            </MenuList>
          </MenuPopover>
        </Menu>
        <ToolbarButton icon={<ArrowUploadRegular />} disabled={!server} onClick={() => setDialog('import')}>
          Import
        </ToolbarButton>
        <ToolbarButton icon={<CheckmarkCircleRegular />} disabled={!pending} onClick={() => setDialog('complete')}>
          Complete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<EditRegular />} disabled={!cert || pending} onClick={() => setDialog('services')}>
          Assign services
        </ToolbarButton>
        <ToolbarButton icon={<ArrowDownloadRegular />} disabled={!cert} onClick={() => setDialog('export')}>
          Export
        </ToolbarButton>
        <ToolbarButton icon={<DeleteRegular />} disabled={!cert} onClick={() => setDialog('delete')}>
          Delete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={certs.reload}>
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
              label={`Certificates on ${server ?? ''}`}
              items={items}
              getKey={(c) => str(c.Thumbprint)}
              selectedKey={selected}
              onSelect={setSelected}
              onOpen={(c) => {
                setSelected(str(c.Thumbprint));
                if (c.Status !== 'PendingRequest') setDialog('services');
              }}
              columns={[
                {
                  id: 'name',
                  title: 'Name',
                  grow: 2,
                  sortValue: name,
                  render: (c) => (
                    <span className={s.name}>
                      {name(c)}
                      {flagsFor(c).map((a, i) => (
                        <Tooltip key={i} content={a.text} relationship="description">
                          <Badge
                            appearance="tint"
                            color={a.severity === 'error' ? 'danger' : 'warning'}
                            icon={a.severity === 'error' ? <ErrorCircleRegular /> : <WarningRegular />}
                            tabIndex={0}
                          >
                            {a.kind === 'expired' ? 'Expired' : a.kind === 'rotation-incomplete' ? 'Rotation incomplete' : 'Expires soon'}
                          </Badge>
                        </Tooltip>
                      ))}
                    </span>
                  ),
                },
                { id: 'status', title: 'Status', sortValue: (c) => str(c.Status), render: (c) => STATUS_LABEL[str(c.Status)] ?? str(c.Status) },
                { id: 'expires', title: 'Expires on', sortValue: (c) => str(c.NotAfter), render: (c) => formatDate(c.NotAfter) },
              ]}
              empty="There are no certificates on this server."
            />
          )}
        </div>
        <aside className={s.pane} aria-label="Certificate details">
          {!cert ? (
            <Text>Select a certificate to see its details.</Text>
          ) : (
            <>
              <h2 className={s.paneTitle}>{name(cert)}</h2>
              <dl style={{ margin: 0 }}>
                <Detail label="Status">{STATUS_LABEL[str(cert.Status)] ?? str(cert.Status)}</Detail>
                {!pending && <Detail label="Expires on">{formatDate(cert.NotAfter)}</Detail>}
                {!pending && <Detail label="Valid from">{formatDate(cert.NotBefore)}</Detail>}
                <Detail label="Issuer">{str(cert.Issuer)}</Detail>
                <Detail label="Subject">{str(cert.Subject)}</Detail>
                <Detail label="Domains">{domainNames(cert.CertificateDomains).join(', ')}</Detail>
                {!pending && (
                  <Detail label="Serial number" mono>
                    {str(cert.SerialNumber)}
                  </Detail>
                )}
                <Detail label="Thumbprint" mono>
                  {str(cert.Thumbprint)}
                </Detail>
                <Detail label="Assigned to services">{str(cert.Services) || 'None'}</Detail>
                <Detail label="Private key">{cert.HasPrivateKey ? (cert.PrivateKeyExportable ? 'Yes (exportable)' : 'Yes (not exportable)') : 'No'}</Detail>
                {!pending && <Detail label="Self-signed">{cert.IsSelfSigned ? 'Yes' : 'No'}</Detail>}
                {!pending && <Detail label="Public key size">{`${str(cert.PublicKeySize)} bits`}</Detail>}
                {!pending && (
                  <Detail label="TlsCertificateName" mono>
                    {tlsCertificateNameOf({ Issuer: str(cert.Issuer), Subject: str(cert.Subject) })}
                  </Detail>
                )}
              </dl>
              {pending && (
                <p>
                  <Link onClick={() => setDialog('complete')}>Complete</Link> this request when your certification authority has issued the certificate.
                </p>
              )}
            </>
          )}
        </aside>
      </div>

      {server && (dialog === 'self-signed' || dialog === 'request') && <NewCertificateDialog mode={dialog} server={server} onClose={() => setDialog(undefined)} onDone={close} />}
      {server && dialog === 'import' && <ImportCertificateDialog server={server} onClose={() => setDialog(undefined)} onDone={close} />}
      {server && dialog === 'complete' && cert && <ImportCertificateDialog server={server} completing={cert} onClose={() => setDialog(undefined)} onDone={close} />}
      {server && dialog === 'export' && cert && <ExportCertificateDialog server={server} certificate={cert} onClose={() => setDialog(undefined)} onDone={() => setDialog(undefined)} />}
      {server && dialog === 'services' && cert && <AssignServicesDialog server={server} certificate={cert} onClose={() => setDialog(undefined)} onDone={close} />}
      {server && dialog === 'rotate' && rotation && <RotateCertificateDialog server={server} certificate={rotation.old} proposed={rotation.proposed} onClose={() => setDialog(undefined)} onDone={close} />}
      {cert && (
        <ConfirmDialog
          open={dialog === 'delete'}
          title={deleteError ? 'The certificate was not deleted' : 'Delete certificate'}
          text={`Are you sure you want to delete the certificate "${name(cert)}"?`}
          confirmLabel="Delete"
          busy={busy}
          error={deleteError}
          errorAction={
            deleteError && taggedConnectors(deleteError).length > 0 ? (
              <span>
                {halfDone && (
                  <>
                    The rotation is half done: the renewed certificate is not on {halfDone.server} yet, a source server of &quot;{halfDone.connector}&quot;. If you meant to delete it to import it again
                    with an exportable private key, there is no need: finishing the rotation copies it with its key to {halfDone.server} inside the organization, exportable or not, then removes the old
                    certificate from every server, without stopping mail flow.{' '}
                    <Link onClick={() => rotate(items.find((c) => c.Thumbprint === halfDone.thumbprint) ?? { Thumbprint: halfDone.thumbprint ?? '' }, halfDone.newThumbprint)}>Finish the rotation</Link> runs{' '}
                    <code>{halfDone.command}</code>.
                    <br />
                    <br />
                    Or, the article&apos;s way:{' '}
                  </>
                )}
                {halfDone ? 'on' : 'What to do next: on'} each Send connector named above, clear or change <b>TlsCertificateName</b> (stop the transport service on its source servers first), delete
                this certificate, then choose the renewed certificate on the connector.{' '}
                {taggedConnectors(deleteError).map((n) => (
                  <NavLink key={n} to={`/mail-flow/send-connectors?open=${encodeURIComponent(n)}&tab=delivery`}>
                    {`Open Send connector "${n}"`}
                  </NavLink>
                ))}
                {!halfDone && (
                  <>
                    {' '}
                    Or, in one step and without stopping mail flow: <Link onClick={() => rotate(cert)}>Replace this certificate on every server</Link>.
                  </>
                )}
              </span>
            ) : undefined
          }
          onConfirm={remove}
          onCancel={() => {
            setDialog(undefined);
            setDeleteError(undefined);
          }}
        />
      )}
    </>
  );
}

/** CertificateDomains are SmtpDomainWithSubdomains objects, as in Exchange; each shows as its Address. */
function domainNames(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).map((d) => (d && typeof d === 'object' ? str((d as { Address?: unknown }).Address) : str(d)));
}
