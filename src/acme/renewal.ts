// Renewal of the certificates Request-AcmeCertificate issued, by the server
// process (never the transport: it only reads what is installed).
//
// A renewal takes the certificate's lease in the directory, so that of the
// servers holding it one renews at a time; a server that dies mid-renewal
// leaves a lease that expires, and another server takes over. The new
// certificate goes in through rotateCertificate, the code of
// Switch-ExchangeCertificate: copied to every server that held the old one and
// every source server of a Send connector that names it, connectors re-pointed
// in the same transaction when the issuer or subject changed (a public CA
// switching intermediates), or left alone. The old certificate stays installed
// for a grace period, so sessions and other servers' transports that still use
// it finish with it, and is then removed from every server.
import { randomUUID } from 'node:crypto';
import type { CertificateStore } from '../certificate-store/certificate-store.js';
import { rotateCertificate } from '../certificate-store/rotation.js';
import { readCertificateFacts } from '../certificates/certificate-facts.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { AcmeAccountRecord, AcmeManagedCertificateRecord, OrganizationRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import type { KeyVault } from '../security/key-vault.js';
import { accountSettings, dnsUpdateTarget } from './acme-connection.js';
import type { ChallengeChoice } from './challenges/challenge.js';
import { issueCertificate } from './issuance.js';
import { alertDue, nextRetry, renewalAction, renewalDue, retiredBy } from './renewal-policy.js';

/** This run of the process, in the leases it takes: a lease of this server's name from another run is a dead run's. */
const THIS_PROCESS = randomUUID();

/** How long a lease holds without its holder finishing: longer than an issuance takes, short enough for a takeover. */
export const DEFAULT_LEASE_MS = 10 * 60_000;

export function leaseFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.INTERCHANGE_ACME_LEASE_MS);
  return Number.isInteger(n) && n >= 1000 ? n : DEFAULT_LEASE_MS;
}
/** How long a replaced certificate stays installed, unless Request-AcmeCertificate -OldCertificateGracePeriod says otherwise. */
export const DEFAULT_GRACE_PERIOD_MS = 24 * 3_600_000;

export interface RenewalDeps {
  directory: DirectoryStore;
  store: CertificateStore;
  vault: KeyVault;
  /** The server this process is. */
  serverName: string;
  clock: () => Date;
  leaseMs?: number;
  /** Sends a mail through this server's transport; absent where the process runs no transport. */
  sendAlert?: (message: { to: readonly string[]; subject: string; text: string }) => Promise<void>;
}

async function organization(directory: DirectoryStore): Promise<OrganizationRecord> {
  const org = await directory.getOrganization();
  if (!org) throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', 'The directory holds no organization.');
  return org;
}

const same = (a: string, b: string) => a.toUpperCase() === b.toUpperCase();

/** Changes the entry of `thumbprint` in one transaction; `change` returns undefined to leave it. */
async function updateEntry(directory: DirectoryStore, thumbprint: string, change: (e: AcmeManagedCertificateRecord, org: OrganizationRecord) => AcmeManagedCertificateRecord | undefined): Promise<AcmeManagedCertificateRecord | undefined> {
  return directory.exclusive(async (tx) => {
    const org = await organization(tx);
    const entries = org.acmeCertificates ?? [];
    const i = entries.findIndex((e) => same(e.thumbprint, thumbprint));
    if (i < 0) return undefined;
    const next = change(entries[i], org);
    if (!next) return undefined;
    await tx.updateOrganization({ ...org, acmeCertificates: entries.map((e, k) => (k === i ? next : e)) });
    return next;
  });
}

/** Puts a certificate Request-AcmeCertificate just issued under automatic renewal. */
export async function manageCertificate(directory: DirectoryStore, entry: AcmeManagedCertificateRecord): Promise<void> {
  await directory.exclusive(async (tx) => {
    const org = await organization(tx);
    const others = (org.acmeCertificates ?? []).filter((e) => !same(e.thumbprint, entry.thumbprint));
    await tx.updateOrganization({ ...org, acmeCertificates: [...others, entry] });
  });
}

export function managedEntry(opts: Omit<AcmeManagedCertificateRecord, 'notBefore' | 'notAfter' | 'nextRenewal' | 'failures' | 'lastError' | 'lastAttempt' | 'lease' | 'retiring'>, der: Buffer): AcmeManagedCertificateRecord {
  const facts = readCertificateFacts(der);
  return { ...opts, notBefore: facts.notBefore, notAfter: facts.notAfter, nextRenewal: renewalDue(facts.notBefore, facts.notAfter), failures: 0, lastError: null, lastAttempt: null, lease: null, retiring: [] };
}

export interface RenewalOutcome {
  oldThumbprint: string;
  newThumbprint: string;
  /** Connectors whose TlsCertificateName now names the new certificate (its issuer or subject changed): `Send connector "Outbound"`. */
  connectorsRepointed: string[];
  servers: string[];
  /** Things to tell the administrator that did not stop the renewal (a challenge record left behind). */
  warnings: string[];
}

/**
 * Renews the certificate `thumbprint` names (the current one of its lineage) when due, or at once with
 * `force`. Undefined when there was nothing to do (not due, or another server holds the lease and it was
 * not forced). A failure is recorded in the entry (the alert and the next retry) and thrown.
 */
export async function renewCertificate(deps: RenewalDeps, thumbprint: string, opts: { force: boolean }): Promise<RenewalOutcome | undefined> {
  const now = deps.clock();
  let refused: InterchangeError | undefined;
  const entry = await updateEntry(deps.directory, thumbprint, (e) => {
    const action = renewalAction(e, { holder: deps.serverName, process: THIS_PROCESS }, now, opts.force);
    if (action.kind === 'leased') {
      if (opts.force) refused = new InterchangeError('ICX_ACME_RENEWAL_IN_PROGRESS', `${action.holder} is renewing the certificate ${e.thumbprint} (its lease runs until ${action.until.toISOString()}); Get-AcmeCertificate shows the outcome.`);
      return undefined;
    }
    if (action.kind === 'wait') return undefined;
    // Due from now on, even when forced early: if this server dies before it finishes, the others take over once the lease runs out.
    const nextRenewal = e.nextRenewal.getTime() > now.getTime() ? now : e.nextRenewal;
    return { ...e, nextRenewal, lease: { holder: deps.serverName, process: THIS_PROCESS, until: new Date(now.getTime() + (deps.leaseMs ?? leaseFromEnvironment())) }, lastAttempt: now };
  });
  if (refused) throw refused;
  if (!entry) {
    if (opts.force && !(await organization(deps.directory)).acmeCertificates?.some((e) => same(e.thumbprint, thumbprint))) {
      throw new InterchangeError('ICX_CERT_NOT_FOUND', `The certificate ${thumbprint} is not renewed by ACME: only certificates that Request-AcmeCertificate issued are (Get-AcmeCertificate lists them).`, { parameter: 'Thumbprint' });
    }
    return undefined;
  }

  let installed: string | undefined;
  try {
    const org = await organization(deps.directory);
    const account = org.acmeAccount;
    if (!account) throw new InterchangeError('ICX_ACME_ACCOUNT_MISSING', 'The organization has no ACME account any more: create one with New-AcmeAccount, or the certificate expires unrenewed.');
    const issued = await issueCertificate({ settings: accountSettings(account, deps.vault), serverName: deps.serverName, names: entry.names, challenge: challengeOf(entry, account, deps.vault), keySize: entry.keySize, onAccountRecreated: (url) => recordAccountUrl(deps.directory, url) });
    const record = await deps.store.installIssued(deps.serverName, issued, { friendlyName: entry.friendlyName, services: entry.services, privateKeyExportable: entry.privateKeyExportable });
    installed = record.thumbprint;
    const plan = await rotateCertificate(deps.store, deps.directory, { oldThumbprint: entry.thumbprint, newThumbprint: record.thumbprint, removeOld: false, deploy: true, apply: true });
    const facts = readCertificateFacts(record.der!);
    const done = deps.clock();
    await updateEntry(deps.directory, entry.thumbprint, (e) => ({
      ...e,
      thumbprint: record.thumbprint,
      notBefore: facts.notBefore,
      notAfter: facts.notAfter,
      nextRenewal: renewalDue(facts.notBefore, facts.notAfter),
      failures: 0,
      lastError: null,
      lease: null,
      alertedAt: null,
      retiring: [...e.retiring, { thumbprint: e.thumbprint, removeAfter: new Date(done.getTime() + e.gracePeriodMs) }],
    }));
    return {
      oldThumbprint: entry.thumbprint,
      newThumbprint: record.thumbprint,
      connectorsRepointed: [...new Set(plan.steps.filter((s) => s.tlsCertificateNameChanged).map((s) => `${s.connectorType} connector "${s.connector}"`))],
      servers: [...new Set(plan.steps.map((s) => s.server))].sort(),
      warnings: issued.warnings,
    };
  } catch (e) {
    // A certificate that was installed but could not be rotated in is taken out again: nothing names it.
    if (installed) await deps.directory.exclusive((tx) => tx.deleteCertificate(deps.serverName, installed!)).catch(() => undefined);
    const failed = deps.clock();
    const message = e instanceof Error ? e.message : String(e);
    // The alert is claimed in the transaction that counts the failure, so two failures close together mail once.
    let alert: { to: readonly string[]; before: Date | null } | undefined;
    const recorded = await updateEntry(deps.directory, entry.thumbprint, (x, org) => {
      const failures = x.failures + 1;
      const to = org.acmeAccount?.alertRecipients ?? [];
      alert = deps.sendAlert && to.length > 0 && alertDue(failures, x.alertedAt ?? null, failed) ? { to, before: x.alertedAt ?? null } : undefined;
      return { ...x, failures, lastError: message, nextRenewal: nextRetry(failures, failed, x.notAfter), lease: null, ...(alert ? { alertedAt: failed } : {}) };
    });
    if (recorded && alert) await alertFailure(deps, recorded, alert.to, alert.before).catch(() => undefined);
    throw e;
  }
}

/** The challenge a renewal answers: the one it was requested with, dns-01 with the account's DNS update server as it is now. */
function challengeOf(entry: AcmeManagedCertificateRecord, account: AcmeAccountRecord, vault: KeyVault): ChallengeChoice {
  if (entry.challengeType === 'TlsAlpn01') return { type: 'TlsAlpn01', tlsAlpnPort: entry.tlsAlpnPort ?? 443 };
  if (entry.challengeType !== 'Dns01') return { type: 'Http01', httpPort: entry.httpPort };
  const dnsUpdate = dnsUpdateTarget(account, vault);
  if (!dnsUpdate) throw new InterchangeError('ICX_ACME_DNS_UPDATE_MISSING', `The certificate for ${entry.names.join(', ')} renews by dns-01, and the ACME account has no DNS update server any more: give it one with Set-AcmeAccount -DnsUpdateServer -DnsUpdateKeyName -DnsUpdateKeySecret.`);
  return { type: 'Dns01', dnsUpdate };
}

/** The mail an administrator asked for (Set-AcmeAccount -AlertRecipient) once a renewal keeps failing, sent through this server's transport. */
async function alertFailure(deps: RenewalDeps, entry: AcmeManagedCertificateRecord, to: readonly string[], alertedBefore: Date | null): Promise<void> {
  try {
    await deps.sendAlert!({
      to,
      subject: `Renewal of the certificate for ${entry.names.join(', ')} keeps failing`,
      text: [
        `The ACME renewal of the certificate ${entry.thumbprint} (${entry.names.join(', ')}) has failed ${entry.failures} times in a row.`,
        '',
        `Last error: ${entry.lastError ?? 'unknown'}`,
        '',
        `The certificate stays in use until it expires on ${entry.notAfter.toISOString()}. The next attempt is at ${entry.nextRenewal.toISOString()}.`,
        `Once the cause is fixed, renew it now with: Update-AcmeCertificate -Thumbprint ${entry.thumbprint}`,
        '',
        `Sent by ${deps.serverName}.`,
      ].join('\n'),
    });
  } catch (e) {
    // Not sent: the next failure may try again.
    const claimed = entry.alertedAt?.getTime();
    await updateEntry(deps.directory, entry.thumbprint, (x) => (x.alertedAt?.getTime() === claimed ? { ...x, alertedAt: alertedBefore } : undefined));
    throw e;
  }
}

async function recordAccountUrl(directory: DirectoryStore, accountUrl: string): Promise<void> {
  await directory.exclusive(async (tx) => {
    const org = await organization(tx);
    if (org.acmeAccount && org.acmeAccount.accountUrl !== accountUrl) await tx.updateOrganization({ ...org, acmeAccount: { ...org.acmeAccount, accountUrl, whenChanged: new Date() } });
  });
}

/**
 * Removes, from every server, the replaced certificates whose grace period is over. One that cannot go
 * (it became the internal transport certificate of a server, say) is kept, and the entry says why.
 */
export async function retireCertificates(deps: RenewalDeps): Promise<string[]> {
  const now = deps.clock();
  const removed: string[] = [];
  for (const entry of (await organization(deps.directory)).acmeCertificates ?? []) {
    for (const old of retiredBy(entry.retiring, now)) {
      let problem: string | undefined;
      try {
        await rotateCertificate(deps.store, deps.directory, { oldThumbprint: old.thumbprint, newThumbprint: entry.thumbprint, removeOld: true, deploy: false, apply: true });
        removed.push(old.thumbprint);
      } catch (e) {
        // Gone already (another server retired it, or an administrator removed it): nothing left to do.
        if (!(e instanceof InterchangeError && e.code === 'ICX_CERT_NOT_FOUND' && /thumbprint [0-9A-F]+ was not found/.test(e.message) && e.message.includes(old.thumbprint.toUpperCase()))) {
          problem = `The replaced certificate ${old.thumbprint} could not be removed after its grace period: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
      await updateEntry(deps.directory, entry.thumbprint, (e) => ({
        ...e,
        lastError: problem ?? e.lastError,
        // Tried again in an hour when it could not go.
        retiring: problem ? e.retiring.map((r) => (same(r.thumbprint, old.thumbprint) ? { ...r, removeAfter: new Date(now.getTime() + 3_600_000) } : r)) : e.retiring.filter((r) => !same(r.thumbprint, old.thumbprint)),
      }));
    }
  }
  return removed;
}

/**
 * One pass of the renewal service on this server: renews what is due among the certificates this server
 * holds, and retires what outlived its grace period. Failures are recorded in the entries, not thrown.
 */
export async function renewalPass(deps: RenewalDeps, onError: (e: unknown, thumbprint: string) => void): Promise<void> {
  const org = await organization(deps.directory);
  const entries = org.acmeCertificates ?? [];
  if (entries.length === 0) return;
  const held = new Set((await deps.store.list(deps.serverName)).map((c) => c.thumbprint.toUpperCase()));
  for (const entry of entries) {
    if (!held.has(entry.thumbprint.toUpperCase())) continue;
    try {
      await renewCertificate(deps, entry.thumbprint, { force: false });
    } catch (e) {
      onError(e, entry.thumbprint);
    }
  }
  await retireCertificates(deps);
}
