// A tiny authoritative DNS server over UDP for MX routing tests: answers MX
// and A questions from a table; unknown names get NXDOMAIN.
import dgram from 'node:dgram';

export interface DnsZone {
  mx?: Record<string, Array<{ priority: number; exchange: string }>>;
  a?: Record<string, string[]>;
}

export interface TestDns {
  port: number;
  /** Questions seen, as `TYPE name`. */
  queries: string[];
  stop(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i] !== 0) {
    const len = msg[i];
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function rr(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // the question's name
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

export async function startTestDns(zone: DnsZone): Promise<TestDns> {
  const sock = dgram.createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    queries.push(`${qtype === 15 ? 'MX' : qtype === 1 ? 'A' : qtype} ${name}`);
    const known = zone.mx?.[name] !== undefined || zone.a?.[name] !== undefined;
    const answers: Buffer[] = [];
    if (qtype === 15) {
      for (const m of zone.mx?.[name] ?? []) {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(m.priority);
        answers.push(rr(15, Buffer.concat([pref, encodeName(m.exchange)])));
      }
    } else if (qtype === 1) {
      for (const ip of zone.a?.[name] ?? []) answers.push(rr(1, Buffer.from(ip.split('.').map(Number))));
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: sock.address().port,
    queries,
    stop: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
