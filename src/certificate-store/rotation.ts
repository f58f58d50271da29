import { readCertificateFacts } from '../certificates/certificate-facts.js';
import { formatSmtpX509Identifier, identifierMatches, parseSmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { SendConnectorRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import type { CertificateStore, EvaluatedCertificate } from './certificate-store.js';

export interface RotationStep {
  connector: string;
  /** Send connectors choose the certificate they present as a client; Receive connectors the one they present for STARTTLS. */
  connectorType: 'Send' | 'Receive';
  server: string;
  oldThumbprint: string | null;
  newThumbprint: string;
  tlsCertificateName: string;
  /** The connector's TlsCertificateName is rewritten: the new certificate has another issuer or subject than the old one. */
  tlsCertificateNameChanged: boolean;
  /** What happens to the old certificate on that server. */
  oldCertificate: 'Removed' | 'Kept' | 'NotInstalled';
  /** The new certificate was copied to this server from another server's store. */
  deployed: boolean;
}

export interface RotationPlan {
  steps: RotationStep[];
  newName: string;
}

/**
 * Replaces a certificate on every Send connector that names it, and on every
 * source server of those connectors, in one directory transaction. The
 * removal guard exists so that mail flow never loses its certificate; here
 * the replacement is checked first on every server (installed, valid, a
 * private key, SMTP), so the old one can go while mail keeps flowing: the
 * transport picks up the new state for its next session, no stop needed.
 *
 * Deploying copies the certificate with its key whether or not the key is
 * exportable. PrivateKeyExportable guards the way out of the organization
 * (Export-ExchangeCertificate to a PFX file); every server's keys are already
 * in the organization's store, sealed under the organization's key, and the
 * copy stays sealed there and keeps the flag, so nothing leaves. Exchange
 * likewise has its Service Host place the Auth certificate on every server
 * without an administrator exporting it. Refusing would send the user back
 * into the article's trap: the renewed certificate can't be removed to import
 * it again as exportable, because the connector names it too.
 */
export async function rotateCertificate(
  store: CertificateStore,
  directory: DirectoryStore,
  opts: { oldThumbprint: string; newThumbprint: string; removeOld: boolean; deploy: boolean; apply: boolean },
): Promise<RotationPlan> {
  const oldTp = opts.oldThumbprint.toUpperCase();
  const newTp = opts.newThumbprint.toUpperCase();
  if (oldTp === newTp) throw new InterchangeError('ICX_PARAM_INVALID', 'The old and the new thumbprint are the same certificate.', { parameter: 'NewThumbprint' });

  const run = async (tx: DirectoryStore): Promise<RotationPlan> => {
    const servers = await tx.listServers();
    const certsByServer = new Map<string, EvaluatedCertificate[]>();
    for (const s of servers) certsByServer.set(s.name, await store.list(s.name, tx));
    const all = [...certsByServer.values()].flat();
    const oldCert = all.find((c) => c.thumbprint === oldTp && c.record.der);
    const newCerts = all.filter((c) => c.thumbprint === newTp && c.record.der);
    if (!oldCert) throw new InterchangeError('ICX_CERT_NOT_FOUND', `The certificate with thumbprint ${oldTp} was not found on any server of the organization.`, { parameter: 'Thumbprint' });
    if (!newCerts.length) throw new InterchangeError('ICX_CERT_NOT_FOUND', `The certificate with thumbprint ${newTp} was not found on any server of the organization.`, { parameter: 'NewThumbprint' });
    // The copy to deploy: any server's will do, the same bytes and key everywhere.
    const source = newCerts.find((c) => c.status === 'Valid' && c.hasPrivateKey) ?? newCerts.find((c) => c.hasPrivateKey) ?? newCerts[0];
    const again = `Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp}${opts.removeOld ? '' : ' -KeepOldCertificate'}`;
    const deployAgain = `${again} -DeployToSourceServers`;
    if (!source.hasPrivateKey) {
      const lacking = servers.find((s) => !certsByServer.get(s.name)!.some((c) => c.thumbprint === newTp))?.name ?? source.server.name;
      throw new InterchangeError(
        'ICX_CERT_ROTATION_FAILED',
        `The new certificate ${newTp} can't replace ${oldTp}: no server holds its private key, so nothing was changed; import it with its key, ${importCommand(lacking)}, then run ${deployAgain}.`,
      );
    }
    if (source.status !== 'Valid') {
      throw new InterchangeError(
        'ICX_CERT_ROTATION_FAILED',
        `The new certificate ${newTp} can't replace ${oldTp}: its status is ${source.status}, so nothing was changed; Get-ExchangeCertificate -Server ${source.server.name} -Thumbprint ${newTp} | Format-List Status,Issuer,NotBefore,NotAfter shows why, and the replacement must be a certificate whose Status is Valid.`,
      );
    }
    const newName = formatSmtpX509Identifier({ issuer: source.facts.issuer, subject: source.facts.subject });

    const affected: SendConnectorRecord[] = (await tx.listSendConnectors()).filter(
      (c) => c.tlsCertificateName && identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName), oldCert.facts),
    );
    // A renewal with the same issuer and subject is already named by the connectors, which are then left
    // as the administrator wrote them. A replacement from another CA, or for another subject (an ACME
    // certificate replacing one from the company CA), is named by none of them: each one is re-pointed
    // in this same transaction, or the transport would find nothing to present (454 4.7.5).
    const renamed = new Set(affected.filter((c) => !identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName!), source.facts)).map((c) => c.guid));
    // A Receive connector's TlsCertificateName picks what its server presents for STARTTLS: the same trap, on the way in.
    const receiveAffected = (await tx.listReceiveConnectors()).filter((c) => c.tlsCertificateName && identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName), oldCert.facts));
    const receiveRenamed = new Set(receiveAffected.filter((c) => !identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName!), source.facts)).map((c) => c.guid));
    const serversInScope = new Set<string>([
      ...affected.flatMap((c) => c.sourceTransportServers),
      ...receiveAffected.map((c) => c.server),
      ...servers.filter((s) => certsByServer.get(s.name)!.some((c) => c.thumbprint === oldTp)).map((s) => s.name),
    ]);

    const steps: RotationStep[] = [];
    const problems: string[] = [];
    const toDeploy: string[] = [];
    for (const server of [...serversInScope].sort()) {
      const here = certsByServer.get(server) ?? [];
      const replacement = here.find((c) => c.thumbprint === newTp);
      if (!replacement || !replacement.hasPrivateKey) {
        if (opts.deploy) toDeploy.push(server);
        else if (!replacement) problems.push(`${server} does not have the new certificate: run ${deployAgain} to copy it there from ${source.server.name}, or install it there with ${importCommand(server)} and run ${again} again`);
        else problems.push(`on ${server} the new certificate has no private key: run ${deployAgain} to give it the key held on ${source.server.name}`);
      } else if (replacement.status !== 'Valid') {
        problems.push(`on ${server} the new certificate is ${replacement.status}: Get-ExchangeCertificate -Server ${server} -Thumbprint ${newTp} | Format-List Status,Issuer,NotBefore,NotAfter shows why`);
      }
      const hasOld = here.some((c) => c.thumbprint === oldTp);
      const internal = servers.find((s) => s.name === server)?.internalTransportCertificateThumbprint === oldTp;
      if (hasOld && internal && opts.removeOld) {
        problems.push(
          `${oldTp} is the internal transport certificate of ${server}: make the new certificate the internal transport certificate there with Enable-ExchangeCertificate -Server ${server} -Thumbprint ${newTp} -Services SMTP -Force (after ${deployAgain} -KeepOldCertificate if it isn't installed there yet), then run ${again} again`,
        );
      }
      const oldCertificate = !hasOld ? 'NotInstalled' : opts.removeOld ? 'Removed' : 'Kept';
      for (const c of affected.filter((x) => x.sourceTransportServers.includes(server))) {
        const changed = renamed.has(c.guid);
        steps.push({ connector: c.name, connectorType: 'Send', server, oldThumbprint: hasOld ? oldTp : null, newThumbprint: newTp, tlsCertificateName: changed ? newName : c.tlsCertificateName!, tlsCertificateNameChanged: changed, oldCertificate, deployed: toDeploy.includes(server) });
      }
      for (const c of receiveAffected.filter((x) => x.server === server)) {
        const changed = receiveRenamed.has(c.guid);
        steps.push({ connector: `${server}\\${c.name}`, connectorType: 'Receive', server, oldThumbprint: hasOld ? oldTp : null, newThumbprint: newTp, tlsCertificateName: changed ? newName : c.tlsCertificateName!, tlsCertificateNameChanged: changed, oldCertificate, deployed: toDeploy.includes(server) });
      }
      if (!affected.some((x) => x.sourceTransportServers.includes(server)) && !receiveAffected.some((x) => x.server === server) && hasOld) {
        steps.push({ connector: '', connectorType: 'Send', server, oldThumbprint: oldTp, newThumbprint: newTp, tlsCertificateName: newName, tlsCertificateNameChanged: false, oldCertificate, deployed: toDeploy.includes(server) });
      }
    }
    if (problems.length) {
      throw new InterchangeError('ICX_CERT_ROTATION_FAILED', `The certificate can't be rotated safely, so nothing was changed: ${problems.join('; ')}.`);
    }
    if (!opts.apply) return { steps, newName };

    for (const server of toDeploy) {
      const keyless = (certsByServer.get(server) ?? []).find((c) => c.thumbprint === newTp);
      if (keyless) await tx.updateCertificate({ ...keyless.record, privateKey: source.record.privateKey, privateKeyExportable: source.record.privateKeyExportable, chain: source.record.chain, services: [...new Set([...keyless.services, 'SMTP' as const])] });
      else await tx.insertCertificate({ ...source.record, serverName: server, services: ['SMTP'], createdAt: new Date() });
      // The chain's root travels with it, so the copy is as trusted as the original.
      for (const der of source.record.chain) {
        const f = readCertificateFacts(der);
        if (f.isSelfSigned && f.isCertificateAuthority) await tx.insertTrustedRoot({ serverName: server, thumbprint: f.thumbprint, der });
      }
    }
    for (const server of serversInScope) {
      const replacement = (certsByServer.get(server) ?? []).find((c) => c.thumbprint === newTp);
      if (replacement && !toDeploy.includes(server) && !replacement.services.includes('SMTP')) await tx.updateCertificate({ ...replacement.record, services: [...replacement.services, 'SMTP'] });
    }
    for (const c of affected.filter((x) => renamed.has(x.guid))) {
      await tx.updateSendConnector({ ...c, tlsCertificateName: newName, whenChanged: new Date(Math.max(Date.now(), c.whenChanged.getTime() + 1)) });
    }
    for (const c of receiveAffected.filter((x) => receiveRenamed.has(x.guid))) {
      await tx.updateReceiveConnector({ ...c, tlsCertificateName: newName, whenChanged: new Date(Math.max(Date.now(), c.whenChanged.getTime() + 1)) });
    }
    if (opts.removeOld) for (const server of serversInScope) if ((certsByServer.get(server) ?? []).some((c) => c.thumbprint === oldTp)) await tx.deleteCertificate(server, oldTp);
    return { steps, newName };
  };

  return opts.apply ? directory.exclusive(run) : run(directory);
}

/** The command that installs the renewed certificate from its PFX file on a server, as the refusals name it. */
function importCommand(server: string): string {
  return `Import-ExchangeCertificate -Server ${server} -FileData ([System.IO.File]::ReadAllBytes('<renewed.pfx>')) -Password (ConvertTo-SecureString -String '<password>' -AsPlainText -Force)`;
}
