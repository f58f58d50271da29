// `interchange install-service`: the systemd unit that runs one server as a
// service. Written from the install's own paths (node, bin/interchange.js), so
// the unit starts the product that wrote it.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';

export interface ServiceUnitOptions {
  server: string;
  dataDir: string;
  user: string;
  smtpPort: number;
  adminPort: number;
  nodePath: string;
  cliPath: string;
}

/**
 * Type=notify: `serve` reports ready (systemd-notify, NotifyAccess=all) only
 * once its listeners are open, so `systemctl start` fails when the server does.
 * The hardening leaves the process one writable folder and one capability:
 * binding ports below 1024 (25, 587) without root.
 */
export function serviceUnit(o: ServiceUnitOptions): string {
  const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`);
  return `[Unit]
Description=Interchange transport server ${o.server}
Documentation=file://${path.dirname(path.dirname(o.cliPath))}/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=all
User=${o.user}
Group=${o.user}
ExecStart=${[o.nodePath, o.cliPath, 'serve', '--data', o.dataDir, '--server', o.server, '--smtp-port', String(o.smtpPort), '--admin-port', String(o.adminPort)].map(quote).join(' ')}
# SIGTERM stops the transport service cleanly (queued mail stays on disk); a crash restarts it.
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=on-failure
RestartSec=2
Environment=INTERCHANGE_LOG_LEVEL=info
# Logs are JSON lines on standard output: the journal keeps them.
StandardOutput=journal
StandardError=journal
UMask=0077
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${quote(o.dataDir)}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictSUIDSGID=yes
LockPersonality=yes
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

export function registerInstallServiceCommand(program: Command, port: (v: string) => number): void {
  program
    .command('install-service')
    .description('Write a systemd unit that runs this server as a service (then: systemctl daemon-reload && systemctl enable --now <unit>).')
    .requiredOption('--server <name>', 'server name')
    .option('--data <dir>', 'data folder', '/var/lib/interchange')
    .option('--user <name>', 'account the service runs as (create it with: useradd --system --home-dir /var/lib/interchange interchange)', 'interchange')
    .option('--smtp-port <n>', 'port of the default frontend Receive connector', port, 25)
    .option('--admin-port <n>', 'admin API and admin center port', port, 8080)
    .option('--output <file>', 'where to write the unit', '')
    .action((o) => {
      const server = String(o.server).toUpperCase();
      const unit = serviceUnit({
        server,
        dataDir: path.resolve(o.data),
        user: o.user,
        smtpPort: o.smtpPort,
        adminPort: o.adminPort,
        nodePath: process.execPath,
        cliPath: path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/interchange.js'),
      });
      const file = o.output || `/etc/systemd/system/interchange-${server.toLowerCase()}.service`;
      fs.writeFileSync(file, unit, { mode: 0o644 });
      process.stdout.write(`Wrote ${file}. Next: systemctl daemon-reload && systemctl enable --now ${path.basename(file)}\n`);
    });
}
