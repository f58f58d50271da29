// What writing a message body and its terminator over TLS costs the sender, three ways: two writes (two
// records, two system calls), one gathered write (cork: the TLS socket copies both into one buffer, one
// record run, one system call), and one write of the two joined in a new Buffer. The receiving end runs
// in a child process, so the CPU counted (process.cpuUsage) is the sender's alone.
//   node scripts/bench/tls-write.mjs [SIZE_BYTES] [MESSAGES] [ROUNDS]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

const size = Number(process.argv[2] ?? 102400);
const messages = Number(process.argv[3] ?? 2000);
const rounds = Number(process.argv[4] ?? 4);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icx-tls-write-'));
const key = path.join(dir, 'key.pem');
const cert = path.join(dir, 'cert.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=tls-write.invalid', '-keyout', key, '-out', cert], { stdio: 'ignore' });

// The peer answers one line per message once it has seen the terminator, as a next hop's 250 does.
const peerCode = `
const tls = require('node:tls'); const fs = require('node:fs');
const END = Buffer.from('\\r\\n.\\r\\n');
const server = tls.createServer({ key: fs.readFileSync(process.argv[1]), cert: fs.readFileSync(process.argv[2]) }, (s) => {
  s.setNoDelay(true);
  let tail = Buffer.alloc(0);
  s.on('data', (d) => {
    tail = Buffer.concat([tail, d.subarray(Math.max(0, d.length - 5))]).subarray(-5);
    if (tail.equals(END)) s.write('250 ok\\r\\n');
  });
  s.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;
const peer = spawn(process.execPath, ['-e', peerCode, key, cert], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const port = await new Promise((resolve, reject) => {
    peer.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    peer.once('exit', (code) => reject(new Error(`the TLS peer exited (${code})`)));
  });
  const line = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01\r\n');
  const body = Buffer.alloc(size, line);
  body[size - 2] = 0x0d;
  body[size - 1] = 0x0a;
  const end = Buffer.from('.\r\n');
  // Nagle off, as the Send connector's sockets have it: otherwise a short last write waits for the peer's delayed ACK.
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const ways = {
    'two writes': () => {
      socket.write(body);
      socket.write(end);
    },
    'one gathered write (cork)': () => {
      socket.cork();
      socket.write(body);
      socket.write(end);
      socket.uncork();
    },
    'one write of a joined copy': () => socket.write(Buffer.concat([body, end])),
  };
  const results = new Map(Object.keys(ways).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, write] of Object.entries(ways)) {
      const before = process.cpuUsage();
      for (let i = 0; i < messages; i++) {
        const answered = new Promise((resolve) => socket.once('data', resolve));
        write();
        await answered;
      }
      const used = process.cpuUsage(before);
      results.get(name).push((used.user + used.system) / messages);
    }
  }
  socket.destroy();
  console.log(`${messages} messages of ${size} bytes per round, ${rounds} rounds; the sender's CPU per message, µs, by round (the first warms up):`);
  for (const [name, us] of results) console.log(`  ${name.padEnd(28)} ${us.map((u) => u.toFixed(0)).join(' / ')}`);
} finally {
  peer.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
