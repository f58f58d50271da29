// The connection to an ACME certification authority (RFC 8555).
//
// acme-client (npm, 5.4.x) speaks the protocol: JWS signing, nonces, account and order objects,
// external account binding. It is the most used ACME client library for Node, maintained, runs on
// Node 20 without native parts, and lets a caller drive each step (order, authorizations,
// challenge, finalize) instead of only its all-in-one auto(): Interchange answers http-01 itself
// and must tell "the CA refused" from "the CA could not validate the name" apart.
import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { toPem } from '../certificates/containers.js';
import type { AcmeAccountRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import type { KeyVault } from '../security/key-vault.js';
import type { DnsUpdateTarget } from './challenges/dns-update.js';

// acme-client retries a failed request 5 times, waiting 5, 10, 15, 20 and 25 s: over a minute
// before an administrator learns that the directory URL is wrong. Its settings live on its one
// shared HTTP client, so they are set once for the process.
const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: Record<string, number> };
defaults.acmeSettings = { ...defaults.acmeSettings, retryMaxAttempts: 2, retryDefaultDelay: 1 };

/** Longest wait for one answer from the CA. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * HTTPS agents by origin, for directories whose certificate comes from a CA the administrator
 * gave (-AcmeServerCertificate): that CA is trusted for that origin's requests only, never for
 * anything else this process connects to. acme-client has one HTTP client for the process, so
 * the choice is made per request, by the URL it goes to.
 */
const agents = new Map<string, https.Agent>();
acme.axios.interceptors.request.use((config) => {
  const origin = config.url ? new URL(config.url).origin : '';
  const agent = agents.get(origin);
  if (agent) config.httpsAgent = agent;
  // axios's default is 0, no limit: a CA that accepts the connection and never answers would hold the cmdlet forever.
  if (!config.timeout) config.timeout = REQUEST_TIMEOUT_MS;
  return config;
});

/** An RFC 8555 §6.7 problem document, or a challenge's `error`, as the CA sent it. */
export interface AcmeProblem {
  type?: string;
  detail?: string;
  subproblems?: Array<{ type?: string; detail?: string; identifier?: { value?: string } }>;
}

/**
 * The last problem the CA sent during one operation. acme-client keeps only the detail text of
 * a problem in the Error it throws; the type (urn:ietf:params:acme:error:…) is what tells a
 * rate limit from a rejected name, so it is picked up from the response on its way past.
 */
const problems = new AsyncLocalStorage<{ last?: AcmeProblem }>();
acme.axios.interceptors.response.use((response) => {
  const slot = problems.getStore();
  const data = response.data as (AcmeProblem & { status?: string; error?: AcmeProblem }) | undefined;
  if (slot && data && typeof data === 'object') {
    if (response.status >= 400 && /problem\+json/.test(String(response.headers?.['content-type'] ?? ''))) slot.last = data;
    else if (data.status === 'invalid' && data.error) slot.last = data.error;
  }
  return response;
});

/** Runs one operation with the CA, remembering the problems it sends for acmeFailure. */
export function capturingProblems<T>(work: () => Promise<T>): Promise<T> {
  return problems.run({}, work);
}

function trustFor(directoryUrl: string, caCertificates: readonly Buffer[]): void {
  const origin = new URL(directoryUrl).origin;
  if (!caCertificates.length) {
    agents.delete(origin);
    return;
  }
  // Added to the platform's roots, not instead of them: a CA behind a private root may still
  // redirect certificate downloads to a host with a public certificate.
  agents.set(origin, new https.Agent({ ca: [...rootCertificates, ...caCertificates.map((d) => toPem(d, 'CERTIFICATE'))] }));
}

export interface AcmeAccountSettings {
  directoryUrl: string;
  accountKeyPem: string;
  accountUrl?: string;
  externalAccountBinding?: { kid: string; hmacKey: string };
  acmeServerCertificates: readonly Buffer[];
  /** What the account was registered with: registering it again (a CA that lost it) repeats them. */
  contact?: readonly string[];
  termsOfServiceAgreed?: boolean;
}

/** A client for the account, trusting what the account was given for its directory's HTTPS. */
export function acmeClient(settings: AcmeAccountSettings): acme.Client {
  trustFor(settings.directoryUrl, settings.acmeServerCertificates);
  return new acme.Client({
    directoryUrl: settings.directoryUrl,
    accountKey: settings.accountKeyPem,
    accountUrl: settings.accountUrl,
    externalAccountBinding: settings.externalAccountBinding,
    // Polls for a challenge's or order's status: every second at first, at most 10 s apart, about two minutes in all.
    backoffAttempts: 16,
    backoffMin: 1000,
    backoffMax: 10_000,
  });
}

/**
 * Reads the directory once before anything else: a wrong URL, a firewall or an untrusted
 * certificate is then reported by its own cause at once. (acme-client, after its retries, turns
 * a request that got no answer into a TypeError about its own internals.)
 */
export async function probeDirectory(directoryUrl: string, during: string): Promise<void> {
  const agent = agents.get(new URL(directoryUrl).origin);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.get(directoryUrl, { agent, timeout: REQUEST_TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        if (body.length < 65_536) body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  }).catch((e: Error & { code?: string }) => {
    throw unreachable(directoryUrl, during, e.code ?? '', e.message, e);
  });
  let directory: { newNonce?: unknown } | undefined;
  try {
    directory = JSON.parse(answer.body);
  } catch {
    directory = undefined;
  }
  if (answer.status !== 200 || typeof directory?.newNonce !== 'string') {
    throw new InterchangeError('ICX_ACME_DIRECTORY_UNREACHABLE', `${directoryUrl} does not answer as an ACME directory (HTTP ${answer.status}${answer.status === 200 ? ', no newNonce in the answer' : ''}) during ${during}.`, {
      details: { directoryUrl, status: answer.status },
    });
  }
}

function unreachable(directoryUrl: string, during: string, code: string, message: string, cause: unknown): InterchangeError {
  const hint = TLS_TRUST_CODES.has(code)
    ? ' Its HTTPS certificate is not trusted: give the certificate of the CA that signed it with Set-AcmeAccount -AcmeServerCertificate (or New-AcmeAccount -AcmeServerCertificate).'
    : '';
  return new InterchangeError('ICX_ACME_DIRECTORY_UNREACHABLE', `The ACME directory ${directoryUrl} can't be reached during ${during}: ${code ? `${code}: ` : ''}${message}.${hint}`, {
    cause,
    details: { directoryUrl, code: code || null },
  });
}

/** Where a stored account publishes dns-01 answers, its TSIG secret opened; undefined when it has no DNS update server. */
export function dnsUpdateTarget(account: AcmeAccountRecord, vault: KeyVault): DnsUpdateTarget | undefined {
  const d = account.dnsUpdate;
  if (!d) return undefined;
  return { server: d.server, keyName: d.keyName, algorithm: d.algorithm, secret: vault.open(d.secret), zone: d.zone };
}

/** The settings of a stored account, its secrets opened. */
export function accountSettings(account: AcmeAccountRecord, vault: KeyVault): AcmeAccountSettings {
  return {
    directoryUrl: account.directoryUrl,
    accountKeyPem: vault.open(account.accountKey).toString('utf8'),
    accountUrl: account.accountUrl,
    externalAccountBinding:
      account.externalAccountKeyId && account.externalAccountHmacKey ? { kid: account.externalAccountKeyId, hmacKey: vault.open(account.externalAccountHmacKey).toString('utf8') } : undefined,
    acmeServerCertificates: account.acmeServerCertificates,
    contact: account.contact,
    termsOfServiceAgreed: account.termsOfServiceAgreed,
  };
}

const TLS_TRUST_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/**
 * What a failure talking to the CA means for the administrator. acme-client throws its HTTP
 * client's error when no answer came (refused, timed out, untrusted certificate), and a plain
 * Error carrying the problem document's detail when the CA answered with one (RFC 8555 §6.7).
 */
export function acmeFailure(e: unknown, directoryUrl: string, during: string): InterchangeError {
  if (e instanceof InterchangeError) return e;
  const err = e as Error & { code?: string; isAxiosError?: boolean; response?: unknown };
  if (err.isAxiosError && !err.response) return unreachable(directoryUrl, during, err.code ?? '', err.message, e);
  // acme-client's retry handler, once out of retries for a request that got no answer, fails on the missing response.
  if (e instanceof TypeError && /reading 'config'/.test(err.message)) return unreachable(directoryUrl, during, '', 'the connection failed, also when tried again', e);
  if (/^Attempting to read ACME directory|^Unable to locate API resource URL in ACME directory|^Failed to get nonce/.test(err.message ?? '')) {
    return new InterchangeError('ICX_ACME_DIRECTORY_UNREACHABLE', `${directoryUrl} does not answer as an ACME directory during ${during}: ${err.message}`, { cause: e, details: { directoryUrl } });
  }
  const problem = problems.getStore()?.last;
  const detail = problem?.detail || err.message || String(e);
  const type = problem?.type ?? null;
  const sub = (problem?.subproblems ?? []).map((x) => `${x.identifier?.value ?? '?'}: ${x.detail ?? x.type ?? ''}`);
  return new InterchangeError('ICX_ACME_CA_REFUSED', `The certification authority at ${directoryUrl} refused ${during}: ${detail}${sub.length ? ` (${sub.join('; ')})` : ''}${type ? ` [${type}]` : ''}`, {
    cause: e,
    details: { directoryUrl, problemType: type, problemDetail: detail, subproblems: problem?.subproblems ?? [] },
  });
}
