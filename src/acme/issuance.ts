// Account registration and certificate issuance over ACME (RFC 8555 §7.3, §7.4), with the
// http-01 challenge answered by the requesting server itself.
import acme from 'acme-client';
import { readCertificateData } from '../certificates/containers.js';
import { createCertificateRequest } from '../certificates/generate.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { type AcmeAccountSettings, acmeClient, acmeFailure, capturingProblems, probeDirectory } from './acme-connection.js';
import { startHttp01Responder } from './http01-responder.js';

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
}

/**
 * Orders a certificate for `names`, proves control of each by http-01 on `httpPort` of this
 * host, and downloads it with its chain. The listener is opened before the CA is asked for
 * anything, so a port that cannot be used fails before an order exists, and it is closed
 * whatever happens.
 */
interface IssueOptions {
  settings: AcmeAccountSettings;
  serverName: string;
  names: string[];
  httpPort: number;
  keySize: number;
  /** Called with the account's new URL when the CA no longer knew the account and it was registered again with its key. */
  onAccountRecreated?: (accountUrl: string) => Promise<void>;
}

export function issueCertificate(opts: IssueOptions): Promise<IssuedByAcme> {
  return capturingProblems(() => issue(opts));
}

const ACCOUNT_DOES_NOT_EXIST = 'urn:ietf:params:acme:error:accountDoesNotExist';

async function issue(opts: IssueOptions): Promise<IssuedByAcme> {
  const { settings, names } = opts;
  const responder = await startHttp01Responder(opts.httpPort, opts.serverName);
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
        const name = authz.identifier.value;
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (!challenge) {
          throw new InterchangeError(
            'ICX_ACME_CHALLENGE_FAILED',
            `The certification authority offers no http-01 challenge for ${name} (it offers ${authz.challenges.map((c) => c.type).join(', ') || 'none'}); Request-AcmeCertificate answers http-01 only.`,
            { details: { name } },
          );
        }
        responder.publish(challenge.token, await client.getChallengeKeyAuthorization(challenge));
        step = `the http-01 challenge for ${name}`;
        await client.completeChallenge(challenge);
        try {
          await client.waitForValidStatus(challenge);
        } catch (e) {
          const failure = acmeFailure(e, settings.directoryUrl, step);
          if (failure.code !== 'ICX_ACME_CA_REFUSED') throw failure;
          const detail = (failure.details?.problemDetail as string | undefined) ?? failure.message;
          throw new InterchangeError(
            'ICX_ACME_CHALLENGE_FAILED',
            `The certification authority could not validate ${name} by http-01: ${detail}. ${opts.serverName} answered on port ${opts.httpPort} while the request ran; the CA connects to the port of its own setting (80 for a public CA): check that ${name} resolves to ${opts.serverName} for the CA and that the CA's port reaches port ${opts.httpPort} there.`,
            { cause: e, details: { name, problemType: failure.details?.problemType ?? null, problemDetail: detail, httpPort: opts.httpPort } },
          );
        }
      }
      step = 'the certificate request (finalize)';
      const { csrPem, privateKeyPkcs8 } = await createCertificateRequest({ subjectName: `CN=${names[0]}`, domainNames: names, keySize: opts.keySize });
      const finalized = await client.finalizeOrder(order, csrPem);
      step = 'the certificate download';
      const pem = await client.getCertificate(finalized);
      const { certificates } = await readCertificateData(Buffer.from(pem, 'utf8'));
      return { certificates, privateKeyPkcs8 };
    } catch (e) {
      throw acmeFailure(e, settings.directoryUrl, step);
    }
  } finally {
    await responder.close();
  }
}
