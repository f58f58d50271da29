import crypto from 'node:crypto';
import fs from 'node:fs';
import type { EncryptedSecret } from '../directory/records.js';

/**
 * Seals private keys and credentials before they reach the directory, under a
 * per-installation key that never leaves the data folder. Servers of one
 * organization on several hosts share the same key file.
 */
export class KeyVault {
  private constructor(private readonly key: Buffer) {}

  /** Reads the key file, creating it (mode 0600) on first use. */
  static openOrCreate(file: string): KeyVault {
    try {
      const key = fs.readFileSync(file);
      if (key.length !== 32) throw new Error(`${file} does not hold a 256-bit key`);
      return new KeyVault(key);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const key = crypto.randomBytes(32);
    try {
      // 'wx' so that two servers starting at once cannot each write a different key.
      fs.writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
      return new KeyVault(key);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return KeyVault.openOrCreate(file);
      throw e;
    }
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
}
