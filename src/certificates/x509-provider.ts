// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the
// Reflect metadata API before the library loads.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * @peculiar/x509 signs and verifies through a process-wide crypto provider. Every
 * module here imports x509 through this file so the provider is Node's webcrypto
 * before any certificate is built, whichever module loads first.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const subtle = webcrypto.subtle;
