import crypto from 'node:crypto';

/** Administrator bearer tokens: random, shown once, stored only as a hash. */
export function newToken(): string {
  return 'icx_' + crypto.randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}
