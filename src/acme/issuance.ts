// Account registration and certificate issuance over ACME (RFC 8555 §7.3, §7.4), with the
// challenge of the administrator's choice (src/acme/challenges/).
import acme from 'acme-client';
import { readCertificateData } from '../certificates/containers.js';
import { createCertificateRequest } from '../certificates/generate.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { type AcmeAccountSettings, acmeClient, acmeFailure, capturingProblems, probeDirectory } from './acme-connection.js';
import { ACME_NAME, type ChallengeChoice, type ChallengeSolver, displayName } from './challenges/challenge.js';
import { startDns01 } from './challenges/dns-01.js';
import { startHttp01 } from './challenges/http-01.js';
import { startTlsAlpn01 } from './challenges/tls-alpn-01.js';

/** A new account key: ECDSA P-256, which every ACME CA accepts and is cheap to sign with. */
export async function createAccountKeyPem(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString('utf8');
}

/**
 * Creates the account at the CA (or finds the one this key already has there) and returns
 * its URL. The CA checks the contact addresses and the external account binding here, so a
 * refusal reaches the administrator at New-AcmeAccount, not at the first request.
 */
export function registerAccount(settings: AcmeAccountSettings, contact: readonly string[], termsOfServiceAgreed: boolean): Promise<string> {
  return capturingProblems(async () => {
    const client = acmeClient(settings);
    await probeDirectory(settings.directoryUrl, 'the account registration');
    try {
      await client.createAccount({ contact: contact.map((c) => `mailto:${c}`), termsOfServiceAgreed });
      return client.getAccountUrl();
    } catch (e) {
      throw acmeFailure(e, settings.directoryUrl, 'the account registration');
    }
  });
}

/** Replaces the account's contact addresses at the CA (RFC 8555 §7.3.2). */
export function updateAccountContact(settings: AcmeAccountSettings, contact: readonly string[]): Promise<void> {
  return capturingProblems(async () => {
    const client = acmeClient(settings);
    await probeDirectory(settings.directoryUrl, 'the contact update');
    try {
      await client.updateAccount({ contact: contact.map((c) => `mailto:${c}`) });
    } catch (e) {
      throw acmeFailure(e, settings.directoryUrl, 'the contact update');
    }
  });
}

export interface IssuedByAcme {
  /** DER, the certificate first, then the chain the CA sent. */
  certificates: Buffer[];
  privateKeyPkcs8: Buffer;
  /** What went wrong after the certificate was issued (a challenge record that could not be removed): worth a warning, not a failure. */
  warnings: string[];
}

/**
 * Orders a certificate for `names`, proves control of each by the chosen challenge, and downloads
 * it with its chain. The challenge is set up before the CA is asked for anything (a port that
 * cannot be used, a DNS key the server refuses, fail before an order exists), every answer is
 * taken away again and listeners closed whatever happens.
 */
interface IssueOptions {
  settings: AcmeAccountSettings;
  serverName: string;
  names: string[];
  challenge: ChallengeChoice;
  keySize: number;
  /** Called with the account's new URL when the CA no longer knew the account and it was registered again with its key. */
  onAccountRecreated?: (accountUrl: string) => Promise<void>;
}

export function issueCertificate(opts: IssueOptions): Promise<IssuedByAcme> {
  return capturingProblems(() => issue(opts));
}

const ACCOUNT_DOES_NOT_EXIST = 'urn:ietf:params:acme:error:accountDoesNotExist';

function startSolver(opts: IssueOptions): Promise<ChallengeSolver> {
  const c = opts.challenge;
  if (c.type === 'Dns01') return startDns01(c.dnsUpdate, opts.names);
  if (c.type === 'TlsAlpn01') return startTlsAlpn01(c.tlsAlpnPort, opts.serverName);
  return startHttp01(c.httpPort, opts.serverName);
}

async function issue(opts: IssueOptions): Promise<IssuedByAcme> {
  const { settings, names } = opts;
  const solver = await startSolver(opts);
  const acmeType = ACME_NAME[solver.type];
  const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  let succeeded = false;
  const warnings: string[] = [];
  try {
    let client = acmeClient(settings);
    await probeDirectory(settings.directoryUrl, 'the certificate request');
    let step = 'the new order';
    try {
      const identifiers = names.map((value) => ({ type: 'dns', value }));
      let order: acme.Order;
      try {
        order = await client.createOrder({ identifiers });
      } catch (e) {
        // A CA that lost the account (a test CA restarted, an account deactivated by mistake) is asked to
        // register the same key again, with what it was registered with, once.
        if (acmeFailure(e, settings.directoryUrl, step).details?.problemType !== ACCOUNT_DOES_NOT_EXIST) throw e;
        step = 'the account registration (the CA no longer knew the account)';
        client = acmeClient({ ...settings, accountUrl: undefined });
        await client.createAccount({ contact: (settings.contact ?? []).map((c) => `mailto:${c}`), termsOfServiceAgreed: settings.termsOfServiceAgreed ?? false });
        await opts.onAccountRecreated?.(client.getAccountUrl());
        step = 'the new order';
        order = await client.createOrder({ identifiers });
      }
      step = 'the authorizations';
      for (const authz of await client.getAuthorizations(order)) {
        if (authz.status === 'valid') continue;
        const target = { name: authz.identifier.value, wildcard: !!authz.wildcard };
        const name = displayName(target);
        const challenge = authz.challenges.find((c) => c.type === acmeType);
        if (!challenge) {
          throw new InterchangeError(
            'ICX_ACME_CHALLENGE_FAILED',
            `The certification authority offers no ${acmeType} challenge for ${name} (it offers ${authz.challenges.map((c) => c.type).join(', ') || 'none'}): request it with -ChallengeType ${challengeTypeOf(authz.challenges.map((c) => c.type))}.`,
            { details: { name } },
          );
        }
        step = `the ${acmeType} challenge for ${name}`;
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        cleanups.push({ name, run: await solver.prepare(target, challenge.token, keyAuthorization) });
        await client.completeChallenge(challenge);
        try {
          await client.waitForValidStatus(challenge);
        } catch (e) {
          const failure = acmeFailure(e, settings.directoryUrl, step);
          if (failure.code !== 'ICX_ACME_CA_REFUSED') throw failure;
          const detail = (failure.details?.problemDetail as string | undefined) ?? failure.message;
          throw new InterchangeError('ICX_ACME_CHALLENGE_FAILED', `The certification authority could not validate ${name} by ${acmeType}: ${detail}. ${solver.failureHint(target.name)}`, {
            cause: e,
            details: { name, challengeType: solver.type, problemType: failure.details?.problemType ?? null, problemDetail: detail, ...(opts.challenge.type === 'Http01' ? { httpPort: opts.challenge.httpPort } : {}) },
          });
        }
      }
      step = 'the certificate request (finalize)';
      const { csrPem, privateKeyPkcs8 } = await createCertificateRequest({ subjectName: `CN=${names[0]}`, domainNames: names, keySize: opts.keySize });
      const finalized = await client.finalizeOrder(order, csrPem);
      step = 'the certificate download';
      const pem = await client.getCertificate(finalized);
      const { certificates } = await readCertificateData(Buffer.from(pem, 'utf8'));
      succeeded = true;
      return { certificates, privateKeyPkcs8, warnings };
    } catch (e) {
      throw acmeFailure(e, settings.directoryUrl, step);
    }
  } finally {
    // Every answer goes, also after a failure: a dns-01 record left behind would outlive the request.
    for (const c of cleanups) {
      try {
        await c.run();
      } catch (e) {
        // Reported with the certificate when it was issued; after a failure the failure is what the administrator needs.
        if (succeeded) warnings.push(`The ${acmeType} answer for ${c.name} could not be removed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await solver.close();
  }
}

function challengeTypeOf(offered: string[]): string {
  if (offered.includes('dns-01')) return 'Dns01';
  if (offered.includes('tls-alpn-01')) return 'TlsAlpn01';
  return 'Http01';
}
