// Exchange describes a TLS handshake in Schannel's vocabulary (SP_PROT_*,
// CALG_*). Node reports OpenSSL/IANA names; this maps one to the other so our
// rows read like Exchange's. CHACHA20 has no CALG constant; it is named in the
// same style.

import type { ProtocolLogKind } from './format.js';

export interface TlsCipherInfo {
  name: string;
  standardName?: string;
  version?: string;
}

export interface EphemeralKeyInfo {
  type?: string;
  name?: string;
  size?: number;
}

function schannelProtocol(protocol: string, kind: ProtocolLogKind): string {
  const side = kind === 'Send' ? 'CLIENT' : 'SERVER';
  const m = /^TLSv?(\d)(?:\.(\d))?$/i.exec(protocol.trim());
  if (!m) return `${protocol}_${side}`;
  return `SP_PROT_TLS${m[1]}_${m[2] ?? '0'}_${side}`;
}

/** Bits of the ECDHE group; a server-side socket does not report it, where P-256 (Schannel's usual) is assumed. */
function curveBits(e: EphemeralKeyInfo | undefined): number {
  if (!e || (!e.name && !e.size)) return 256;
  if (e.name === 'X25519') return 255;
  if (e.name === 'X448') return 448;
  if (e.name && /(\d{3})/.test(e.name)) return Number(/(\d{3})/.exec(e.name)![1]);
  return e.size ?? 256;
}

/**
 * `TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption
 * algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384
 * with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits`
 */
export function describeTlsNegotiation(
  kind: ProtocolLogKind,
  protocol: string,
  cipher: TlsCipherInfo | string,
  ephemeralKey?: EphemeralKeyInfo | object | null,
): string {
  // TLSSocket.getEphemeralKeyInfo() is typed `EphemeralKeyInfo | object | null` (empty on the server side).
  const ephemeral = (ephemeralKey ?? undefined) as EphemeralKeyInfo | undefined;
  const c = typeof cipher === 'string' ? { name: cipher } : cipher;
  const n = (c.standardName || c.name).toUpperCase().replace(/-/g, '_');
  let bulk = 'CALG_UNKNOWN';
  let bulkBits = 0;
  if (/AES_?256/.test(n)) [bulk, bulkBits] = ['CALG_AES_256', 256];
  else if (/AES_?128/.test(n)) [bulk, bulkBits] = ['CALG_AES_128', 128];
  else if (/CHACHA20/.test(n)) [bulk, bulkBits] = ['CALG_CHACHA20', 256];
  else if (/3DES|DES_CBC3/.test(n)) [bulk, bulkBits] = ['CALG_3DES', 168];
  const aead = /GCM|CHACHA20|CCM/.test(n);
  let mac = 'CALG_SHA1';
  let macBits = 160;
  if (/SHA384$/.test(n)) [mac, macBits] = ['CALG_SHA_384', 384];
  else if (/SHA256$/.test(n)) [mac, macBits] = ['CALG_SHA_256', 256];
  if (aead) macBits = 0;
  const tls13 = /1\.3|1_3/.test(protocol) || n.startsWith('TLS_AES') || n.startsWith('TLS_CHACHA20');
  let kx = 'CALG_RSA_KEYX';
  let kxBits = 0;
  if (tls13 || /ECDHE/.test(n)) [kx, kxBits] = ['CALG_ECDH_EPHEM', curveBits(ephemeral)];
  else if (/DHE/.test(n)) [kx, kxBits] = ['CALG_DH_EPHEM', ephemeral?.size ?? 0];
  return (
    `TLS protocol ${schannelProtocol(protocol, kind)} negotiation succeeded using bulk encryption algorithm ${bulk} with strength ${bulkBits} bits, ` +
    `MAC hash algorithm ${mac} with strength ${macBits} bits and key exchange algorithm ${kx} with strength ${kxBits} bits`
  );
}
