import crypto from 'node:crypto';
import fs from 'node:fs';
import type { EncryptedSecret } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';

/**
 * Seals private keys and credentials before they reach the directory, under a
 * per-installation key that never leaves the data folder. Servers of one
 * organization on several hosts share the same key file.
 */
export class KeyVault {
  private constructor(private readonly key: Buffer) {}

  /**
   * The key file of a data folder, or undefined when it has none. Only a new
   * organization makes a key (create); a joining server must be given a copy.
   */
  static read(file: string): KeyVault | undefined {
    let key: Buffer;
    try {
      key = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    if (key.length !== 32) throw new InterchangeError('ICX_KEYVAULT_MISMATCH', `${file} does not hold a 256-bit key: copy keyvault.key from a server of the organization.`);
    return new KeyVault(key);
  }

  /** A new key file (mode 0600), for a new organization. */
  static create(file: string): KeyVault {
    const key = crypto.randomBytes(32);
    // 'wx': an existing key is never overwritten, whoever wrote it.
    fs.writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
    return new KeyVault(key);
  }

  seal(plain: Buffer): EncryptedSecret {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { sealed: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64') };
  }

  open(secret: EncryptedSecret): Buffer {
    const raw = Buffer.from(secret.sealed, 'base64');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }

  /** Whether this key sealed `secret` and it still holds `expected` (GCM's tag fails for any other key). */
  opens(secret: EncryptedSecret, expected?: Buffer): boolean {
    try {
      const plain = this.open(secret);
      return expected === undefined || plain.equals(expected);
    } catch {
      return false;
    }
  }
}
