// Protocol log text in the shapes real Exchange servers write
// (../shared/reference/exchange-behavior.md §6.2, §6.5, §6.6), for building
// folders as an administrator copies them off a server.

export const FIELDS_LINE = '#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context';

export function header(kind: 'Send' | 'Receive', date = '2025-03-04T09:00:00.000Z'): string[] {
  return ['#Software: Microsoft Exchange Server', '#Version: 15.0.0.0', `#Log-type: SMTP ${kind} Protocol Log`, `#Date: ${date}`, FIELDS_LINE];
}

export interface Cert {
  subject: string;
  issuer: string;
  serial: string;
  thumbprint: string;
  domains: string;
}

export const OLD: Cert = {
  subject: 'CN=mail.contoso.com',
  issuer: "CN=R11, O=Let's Encrypt, C=US",
  serial: '04C2A9F17E3B5D6A8B9C0D1E2F3A4B5C6D7E',
  thumbprint: '7A3F0C9E51B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0',
  domains: 'mail.contoso.com;autodiscover.contoso.com',
};
export const RENEWED: Cert = {
  subject: 'CN=mail.contoso.com',
  issuer: "CN=R11, O=Let's Encrypt, C=US",
  serial: '03B1F2E3D4C5B6A79880716253443526170817',
  thumbprint: 'C4D2E8F1A3B5C7D9E0F2A4B6C8D0E2F4A6B8C0D2',
  domains: 'mail.contoso.com;autodiscover.contoso.com',
};

const csv = (v: string): string => (v.includes(',') || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v);

/** The 2016/2019 single row. */
export function sendingCertificateRow(at: string, connector: string, session: string, seq: number, c: Cert, dates = '2025-01-10T08:00:00.000Z 2025-04-10T08:00:00.000Z'): string {
  const data = ` ${c.subject} ${c.issuer} ${c.serial} ${c.thumbprint}${dates ? ` ${dates}` : ''} ${c.domains}`;
  return `${at},${csv(connector)},${session},${seq},10.0.0.5:28417,198.51.100.25:25,*,${csv(data)},Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names`;
}

/** A Send session as Exchange 2016/2019 logs it, up to the certificate and TLS rows. */
export function sendSession(at: string, connector: string, session: string, c: Cert): string[] {
  const r = (seq: number, event: string, data: string, context = ''): string => `${at},${csv(connector)},${session},${seq},10.0.0.5:28417,198.51.100.25:25,${event},${csv(data)},${csv(context)}`;
  return [
    `${at},${csv(connector)},${session},0,,198.51.100.25:25,*,,attempting to connect`,
    r(1, '+', ''),
    r(2, '<', '220 mx.fabrikam.com ESMTP ready'),
    r(3, '>', 'EHLO mail.contoso.com'),
    r(4, '<', '250  mx.fabrikam.com Hello [203.0.113.7] SIZE 52428800 PIPELINING 8BITMIME STARTTLS ENHANCEDSTATUSCODES CHUNKING'),
    r(5, '>', 'STARTTLS'),
    r(6, '<', '220 2.0.0 Ready to start TLS'),
    sendingCertificateRow(at, connector, session, 7, c),
    r(8, '*', '', 'TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits'),
    r(9, '*', '', 'Received certificate'),
    r(10, '*', '5E1D9B7A3C2F4E6D8A0B1C3D5E7F9A2B4C6D8E0F', 'Certificate thumbprint'),
    r(11, '>', 'QUIT'),
    r(12, '<', '221 2.0.0 Bye'),
    r(13, '-', '', 'Local'),
  ];
}

/** A Receive session on a front end as Exchange logs it (the server's side of STARTTLS). */
export function receiveSession(at: string, connector: string, session: string, c: Cert): string[] {
  const r = (seq: number, event: string, data: string, context = ''): string => `${at},${csv(connector)},${session},${seq},10.10.10.10:25,95.10.20.33:56026,${event},${csv(data)},${csv(context)}`;
  return [
    r(0, '+', ''),
    r(1, '>', '220 EXCH.contoso.com Microsoft ESMTP MAIL Service ready at Wed, 11 Jan 2023 16:59:51 +0100'),
    r(2, '<', 'EHLO [95.10.20.33]'),
    r(3, '>', '250  EXCH.contoso.com Hello [95.10.20.33] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM 8BITMIME BINARYMIME CHUNKING'),
    r(4, '<', 'STARTTLS'),
    r(5, '>', '220 2.0.0 SMTP server ready'),
    sendingCertificateRow(at, connector, session, 6, c).replace('10.0.0.5:28417,198.51.100.25:25', '10.10.10.10:25,95.10.20.33:56026'),
    r(7, '*', '', 'TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits'),
    r(8, '*', '', "Client certificate chain validation status: 'EmptyCertificate'"),
    r(9, '-', '', 'Remote'),
  ];
}

/** The Exchange 2013 multi-row record (reference §6.5, form 1). */
export function record2013(at: string, connector: string, session: string, firstSeq: number, c: Cert): string[] {
  const r = (seq: number, data: string, context: string): string => `${at},${csv(connector)},${session},${seq},10.0.0.5:1000,198.51.100.25:25,*,${csv(data)},${context}`;
  return [
    r(firstSeq, '', 'Sending certificate'),
    r(firstSeq + 1, c.subject, 'Certificate subject'),
    r(firstSeq + 2, c.issuer, 'Certificate issuer name'),
    r(firstSeq + 3, c.serial, 'Certificate serial number'),
    r(firstSeq + 4, c.thumbprint, 'Certificate thumbprint'),
    r(firstSeq + 5, c.domains, 'Certificate alternate names'),
  ];
}

/** A file's bytes as Exchange writes it: UTF-8 with a BOM, CRLF. */
export function utf8WithBom(lines: string[]): Buffer {
  return Buffer.from('\uFEFF' + lines.map((l) => l + '\r\n').join(''), 'utf8');
}

/** As Notepad / Out-File -Encoding Unicode save it: UTF-16 LE with a BOM. */
export function utf16le(lines: string[]): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.map((l) => l + '\r\n').join(''), 'utf16le')]);
}

/** UTF-16 BE with a BOM (Out-File -Encoding BigEndianUnicode). */
export function utf16be(lines: string[]): Buffer {
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(lines.map((l) => l + '\r\n').join(''), 'utf16le').swap16()]);
}
