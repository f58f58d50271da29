// Mail user passwords: scrypt with a random salt, the parameters stored with
// the hash so they can be raised later without invalidating old hashes. The
// clear text is never stored, logged or audited.
import crypto from 'node:crypto';

/** `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` */
export type PasswordHash = string;

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
/** Guards against a stored hash whose parameters would make verification eat the machine. */
const MAX_N = 1 << 20;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    // Asynchronous: the work runs on libuv's thread pool, never on the event loop the SMTP sessions share.
    crypto.scrypt(password.normalize('NFC'), salt, keyLength, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, N, R, P, KEY_LENGTH);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** False for a wrong password and for a hash that cannot be read. Constant-time comparison. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > MAX_N || (n & (n - 1)) !== 0) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (expected.length < 16) return false;
  const key = await scrypt(password, salt, n, r, p, expected.length);
  return crypto.timingSafeEqual(key, expected);
}

/**
 * A hash of a random password, made once: checking an unknown user name
 * against it costs as much as checking a real one, so the time to answer does
 * not tell which user names exist.
 */
let decoy: Promise<PasswordHash> | undefined;
export function decoyHash(): Promise<PasswordHash> {
  decoy ??= hashPassword(crypto.randomBytes(18).toString('base64'));
  return decoy;
}

/** Exchange's default policy in spirit: at least 8 characters from at least 3 of 4 character classes. */
export function passwordWeakness(password: string): string | undefined {
  if (password.length === 0) return 'The password is empty.';
  if (password.length < 8) return 'The password must be at least 8 characters long.';
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) return 'The password must contain characters from at least three of these groups: lower-case letters, upper-case letters, digits, symbols.';
  return undefined;
}
