import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readCertificateFacts, type CertificateFacts } from '../../src/certificates/certificate-facts.js';
import { toPem } from '../../src/certificates/containers.js';
import { createSelfSignedCertificate, issueCertificate } from '../../src/certificates/generate.js';
import { privateKeyToPem } from '../../src/certificates/keys.js';

/**
 * A small PKI for tests across the project. Generated once per process (RSA key
 * generation dominates the cost) and shared; treat every object as read-only.
 */

const run = promisify(execFile);

export interface TestCert {
  der: Buffer;
  privateKeyPkcs8: Buffer;
  facts: CertificateFacts;
  /** DER of the issuing chain above this certificate (intermediates, then root); empty for self-signed. */
  chain: Buffer[];
}

export interface TestPki {
  /** Root CA: `CN=Interchange Test Root CA, O=Interchange Tests, C=US`. */
  ca: TestCert;
  /** Intermediate CA issued by `ca`: `CN=Interchange Test Issuing CA, O=Interchange Tests, C=US`. */
  intermediate: TestCert;
  /** `CN=mail.contoso.com, O=Contoso, C=US` from `ca`; SANs mail + autodiscover.contoso.com; valid from 30 days ago. */
  oldCert: TestCert;
  /** Same subject, issuer and names as oldCert; later NotBefore/NotAfter, another key and serial. */
  renewedCert: TestCert;
  /** Self-signed `CN=EX01` with EX01 and ex01.contoso.com (like Exchange's default certificate). */
  selfSigned: TestCert;
  /** `CN=*.contoso.com` from `ca`. */
  wildcard: TestCert;
  /** `CN=expired.contoso.com` from `ca`, NotAfter in the past. */
  expired: TestCert;
  /** `CN=smtp.fabrikam.com, O=Fabrikam, C=US` from `intermediate` (a three-level chain). */
  viaIntermediate: TestCert;
}

const DAY = 24 * 3600 * 1000;

function at(offsetDays: number): Date {
  // Whole seconds: certificate times have no milliseconds, and tests compare dates.
  return new Date(Math.floor((Date.now() + offsetDays * DAY) / 1000) * 1000);
}

function withFacts(c: { der: Buffer; privateKeyPkcs8?: Buffer }, chain: Buffer[]): TestCert {
  if (!c.privateKeyPkcs8) throw new Error('test certificate without key');
  return { der: c.der, privateKeyPkcs8: c.privateKeyPkcs8, facts: readCertificateFacts(c.der), chain };
}

async function build(): Promise<TestPki> {
  const ca = withFacts(
    await createSelfSignedCertificate({
      subjectName: 'CN=Interchange Test Root CA, O=Interchange Tests, C=US',
      domainNames: [],
      isCertificateAuthority: true,
      notBefore: at(-400),
      notAfter: at(3650),
      serialNumber: Buffer.from('01', 'hex'),
    }),
    [],
  );
  const issuerCa = { der: ca.der, privateKeyPkcs8: ca.privateKeyPkcs8 };
  const contoso = { subjectName: 'CN=mail.contoso.com, O=Contoso, C=US', domainNames: ['mail.contoso.com', 'autodiscover.contoso.com'] };

  const [intermediate, oldCert, renewedCert, selfSigned, wildcard, expired] = await Promise.all([
    issueCertificate({
      issuer: issuerCa,
      subjectName: 'CN=Interchange Test Issuing CA, O=Interchange Tests, C=US',
      domainNames: [],
      isCertificateAuthority: true,
      notBefore: at(-300),
      notAfter: at(1825),
      serialNumber: Buffer.from('1000', 'hex'),
    }),
    issueCertificate({ issuer: issuerCa, ...contoso, notBefore: at(-30), notAfter: at(335), serialNumber: Buffer.from('0A01', 'hex') }),
    issueCertificate({ issuer: issuerCa, ...contoso, notBefore: at(-1), notAfter: at(730), serialNumber: Buffer.from('0A02', 'hex') }),
    createSelfSignedCertificate({ subjectName: 'CN=EX01', domainNames: ['EX01', 'ex01.contoso.com'], notBefore: at(-10), serialNumber: Buffer.from('5E1F', 'hex') }),
    issueCertificate({ issuer: issuerCa, subjectName: 'CN=*.contoso.com', domainNames: [], notBefore: at(-5), notAfter: at(360), serialNumber: Buffer.from('0A03', 'hex') }),
    issueCertificate({
      issuer: issuerCa,
      subjectName: 'CN=expired.contoso.com, O=Contoso, C=US',
      domainNames: [],
      notBefore: at(-400),
      notAfter: at(-35),
      serialNumber: Buffer.from('0A04', 'hex'),
    }),
  ]);
  const inter = withFacts(intermediate, [ca.der]);
  const viaIntermediate = await issueCertificate({
    issuer: { der: inter.der, privateKeyPkcs8: inter.privateKeyPkcs8 },
    subjectName: 'CN=smtp.fabrikam.com, O=Fabrikam, C=US',
    domainNames: ['smtp.fabrikam.com'],
    notBefore: at(-2),
    notAfter: at(365),
    serialNumber: Buffer.from('2001', 'hex'),
  });
  return {
    ca,
    intermediate: inter,
    oldCert: withFacts(oldCert, [ca.der]),
    renewedCert: withFacts(renewedCert, [ca.der]),
    selfSigned: withFacts(selfSigned, []),
    wildcard: withFacts(wildcard, [ca.der]),
    expired: withFacts(expired, [ca.der]),
    viaIntermediate: withFacts(viaIntermediate, [inter.der, ca.der]),
  };
}

let cached: Promise<TestPki> | undefined;

/** The shared test PKI (built on first use in this process). */
export function createTestPki(): Promise<TestPki> {
  cached ??= build();
  return cached;
}

/** Certificate PEM and key PEM of a test certificate. */
export function pem(cert: { der: Buffer; privateKeyPkcs8: Buffer }): { certificate: string; privateKey: string } {
  return { certificate: toPem(cert.der, 'CERTIFICATE'), privateKey: privateKeyToPem(cert.privateKeyPkcs8) };
}

/** Runs openssl with the given arguments in a fresh temporary directory holding `files`; returns stdout and the directory's files after the run. */
export async function withOpenssl<T>(files: Record<string, string | Buffer>, fn: (dir: string, openssl: (args: string[], env?: Record<string, string>) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'icx-pki-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const openssl = async (args: string[], env: Record<string, string> = {}) => {
      const { stdout } = await run('openssl', args, { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    };
    return await fn(dir, openssl);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A PFX made by the real `openssl pkcs12 -export` (OpenSSL 3 defaults, or
 * `-legacy` for 3DES/RC2), so import code is tested against files OpenSSL made.
 */
export async function pfx(
  cert: TestCert,
  password: string,
  options: { withChain?: boolean; legacy?: boolean; friendlyName?: string; noKey?: boolean; extraArgs?: string[] } = {},
): Promise<Buffer> {
  const p = pem(cert);
  const files: Record<string, string> = { 'cert.pem': p.certificate, 'key.pem': p.privateKey };
  if (options.withChain && cert.chain.length) files['chain.pem'] = cert.chain.map((c) => toPem(c, 'CERTIFICATE')).join('');
  return withOpenssl(files, async (dir, openssl) => {
    const args = ['pkcs12', '-export', '-in', 'cert.pem', '-out', 'out.pfx', '-passout', 'env:ICX_PFX_PASS'];
    args.push(...(options.noKey ? ['-nokeys'] : ['-inkey', 'key.pem']));
    if (files['chain.pem']) args.push('-certfile', 'chain.pem');
    if (options.legacy) args.push('-legacy');
    if (options.friendlyName) args.push('-name', options.friendlyName);
    if (options.extraArgs) args.push(...options.extraArgs);
    await openssl(args, { ICX_PFX_PASS: password });
    return readFile(join(dir, 'out.pfx'));
  });
}

/** A real PFX cut short: damaged data, not a wrong password. */
export async function corruptPfx(): Promise<Buffer> {
  const pki = await createTestPki();
  const good = await pfx(pki.oldCert, 'P@ssw0rd', { withChain: true });
  return good.subarray(0, Math.floor(good.length / 2));
}
