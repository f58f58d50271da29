import { readCertificateFacts } from '../certificates/certificate-facts.js';
import { formatSmtpX509Identifier, identifierMatches, parseSmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { SendConnectorRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import type { CertificateStore, EvaluatedCertificate } from './certificate-store.js';

export interface RotationStep {
  connector: string;
  server: string;
  oldThumbprint: string | null;
  newThumbprint: string;
  tlsCertificateName: string;
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
    const source = newCerts.find((c) => c.hasPrivateKey) ?? newCerts[0];
    if (source.status !== 'Valid' || !source.hasPrivateKey) {
      throw new InterchangeError(
        'ICX_CERT_ROTATION_FAILED',
        `The new certificate ${newTp} can't replace ${oldTp}: its status is ${source.status}${source.hasPrivateKey ? '' : ' and it has no private key'}. Nothing was changed.`,
      );
    }
    const newName = formatSmtpX509Identifier({ issuer: source.facts.issuer, subject: source.facts.subject });

    const affected: SendConnectorRecord[] = (await tx.listSendConnectors()).filter(
      (c) => c.tlsCertificateName && identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName), oldCert.facts),
    );
    const serversInScope = new Set<string>([...affected.flatMap((c) => c.sourceTransportServers), ...servers.filter((s) => certsByServer.get(s.name)!.some((c) => c.thumbprint === oldTp)).map((s) => s.name)]);

    const steps: RotationStep[] = [];
    const problems: string[] = [];
    const toDeploy: string[] = [];
    for (const server of [...serversInScope].sort()) {
      const here = certsByServer.get(server) ?? [];
      const replacement = here.find((c) => c.thumbprint === newTp);
      if (!replacement) {
        if (!opts.deploy) problems.push(`${server} does not have the new certificate (use -DeployToSourceServers to copy it there)`);
        else if (!source.record.privateKeyExportable) problems.push(`${server} does not have the new certificate, and its private key is not exportable, so it can't be copied there`);
        else toDeploy.push(server);
      } else if (replacement.status !== 'Valid' || !replacement.hasPrivateKey) {
        problems.push(`on ${server} the new certificate is ${replacement.status}${replacement.hasPrivateKey ? '' : ' without a private key'}`);
      }
      const hasOld = here.some((c) => c.thumbprint === oldTp);
      const internal = servers.find((s) => s.name === server)?.internalTransportCertificateThumbprint === oldTp;
      if (hasOld && internal && opts.removeOld) problems.push(`${oldTp} is the internal transport certificate of ${server}`);
      for (const c of affected.filter((x) => x.sourceTransportServers.includes(server))) {
        steps.push({ connector: c.name, server, oldThumbprint: hasOld ? oldTp : null, newThumbprint: newTp, tlsCertificateName: newName, oldCertificate: !hasOld ? 'NotInstalled' : opts.removeOld ? 'Removed' : 'Kept', deployed: toDeploy.includes(server) });
      }
      if (!affected.some((x) => x.sourceTransportServers.includes(server)) && hasOld) {
        steps.push({ connector: '', server, oldThumbprint: oldTp, newThumbprint: newTp, tlsCertificateName: newName, oldCertificate: opts.removeOld ? 'Removed' : 'Kept', deployed: toDeploy.includes(server) });
      }
    }
    if (problems.length) {
      throw new InterchangeError('ICX_CERT_ROTATION_FAILED', `The certificate can't be rotated safely, so nothing was changed: ${problems.join('; ')}.`);
    }
    if (!opts.apply) return { steps, newName };

    for (const server of toDeploy) {
      await tx.insertCertificate({ ...source.record, serverName: server, services: ['SMTP'], createdAt: new Date() });
      // The chain's root travels with it, so the copy is as trusted as the original.
      for (const der of source.record.chain) {
        const f = readCertificateFacts(der);
        if (f.isSelfSigned && f.isCertificateAuthority) await tx.insertTrustedRoot({ serverName: server, thumbprint: f.thumbprint, der });
      }
    }
    for (const server of serversInScope) {
      const replacement = (certsByServer.get(server) ?? []).find((c) => c.thumbprint === newTp);
      if (replacement && !replacement.services.includes('SMTP')) await tx.updateCertificate({ ...replacement.record, services: [...replacement.services, 'SMTP'] });
    }
    for (const c of affected) {
      await tx.updateSendConnector({ ...c, tlsCertificateName: newName, whenChanged: new Date(Math.max(Date.now(), c.whenChanged.getTime() + 1)) });
    }
    if (opts.removeOld) for (const server of serversInScope) if ((certsByServer.get(server) ?? []).some((c) => c.thumbprint === oldTp)) await tx.deleteCertificate(server, oldTp);
    return { steps, newName };
  };

  return opts.apply ? directory.exclusive(run) : run(directory);
}
