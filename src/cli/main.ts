import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { InterchangeError, isInterchangeError } from '../errors/interchange-error.js';
import { productVersion } from '../product-version.js';
import { heartbeatIntervalFromEnvironment } from '../server/heartbeat.js';
import { directoryTimeoutFromEnvironment } from '../directory/postgres/open-postgres-directory.js';
import { startInterchangeServer } from '../server/interchange-server.js';
import { installHeapGrowthPolicy } from '../server/heap-growth.js';
import { envDirectory } from './connect.js';
import { registerHostSetupCommands } from './host-setup-commands.js';
import { registerInstallServiceCommand } from './service-unit.js';
import { registerShellCommand } from './shell-command.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${value}' is not a TCP port (0-65535).`);
  return n;
}

/** A port as typed: what is not a number is one line here, and the server checks the range. */
const portNumber = (option: string) => (value: string): number => {
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  throw new InterchangeError('ICX_PARAM_INVALID', `${option} '${value}' is not a TCP port.`);
};

/**
 * PowerShell users type `-Command` and `-File`; commander only knows
 * single-letter short options, so those spellings are mapped to long ones.
 */
export function normalizeArgv(argv: string[]): string[] {
  const map: Record<string, string> = { '-command': '--command', '-c': '--command', '-file': '--file', '-f': '--file', '-noninteractive': '--non-interactive', '-noprofile': '--no-profile' };
  return argv.map((a, i) => (i >= 2 && map[a.toLowerCase()] ? map[a.toLowerCase()] : a));
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('interchange').description('Interchange: mail transport with the Exchange Server management model.').version(productVersion(), '-V, --version').showHelpAfterError();

  program
    .command('serve')
    .description('Start a transport server (creates the organization and the server on first start).')
    .option('--data <dir>', 'data folder (directory, queue, logs)', './interchange-data')
    .option('--server <name>', 'server name (default: the host name in upper case)')
    .option('--fqdn <fqdn>', "server's fully qualified domain name")
    // Ports are checked by the server itself, so that a bad one is one line like every other start-up failure.
    .option('--smtp-port <n>', 'port of the default frontend Receive connector (1-65535)', portNumber('--smtp-port'), 2525)
    .option('--admin-port <n>', 'admin API and admin center port (127.0.0.1)', portNumber('--admin-port'), 8080)
    .option('--admin-host <host>', 'address the admin API listens on; other than loopback, it is served over HTTPS with the IIS certificate', '127.0.0.1')
    .option('--admin-https', 'serve the admin center over HTTPS on loopback too')
    .option('--insecure-admin-http', 'plain HTTP on an address other than loopback (administrator tokens cross the network in clear)')
    .option('--directory <url>', 'postgres://user@host[:port]/database for a PostgreSQL directory shared by several hosts (default: the one the data folder was started with, else SQLite in the data folder)')
    .option('--advertise-url <url>', 'address of the admin API as other servers and shells reach it, e.g. https://ex01.contoso.com:8443 (default: where it listens)')
    .action(async (o) => {
      // Queued mail, sealed keys and the directory are for this account alone, whatever the umask of the shell or unit.
      process.umask(0o077);
      installHeapGrowthPolicy();
      const { createTransportFactory } = await import('../transport/service/transport-factory.js');
      const server = await startInterchangeServer({
        dataDir: o.data,
        serverName: o.server,
        fqdn: o.fqdn,
        smtpPort: o.smtpPort,
        adminPort: o.adminPort,
        adminHost: o.adminHost,
        adminHttps: !!o.adminHttps,
        insecureAdminHttp: !!o.insecureAdminHttp,
        directoryUrl: o.directory ?? envDirectory(),
        ...(o.advertiseUrl !== undefined ? { advertiseUrl: o.advertiseUrl } : {}),
        heartbeatIntervalMs: heartbeatIntervalFromEnvironment(),
        directoryTimeoutMs: directoryTimeoutFromEnvironment(),
        transportFactory: createTransportFactory(),
      });
      if (server.administratorToken) {
        process.stdout.write(
          `\nOrganization created. Administrator token (shown once, also saved with mode 0600 in ${server.tokenFile}):\n\n  ${server.administratorToken}\n\n`,
        );
      }
      // Only what really listens: a binding another process holds is named on its own line, not claimed.
      const listening: string[] = [];
      for (const rc of await server.directory.listReceiveConnectors(server.serverName)) {
        if (!rc.enabled) continue;
        for (const status of server.transport?.receiveBindingStatus?.(rc.bindings) ?? []) {
          const [binding, ...rest] = status.split(' ');
          if (rest.join(' ') === 'Listening') listening.push(binding);
          else process.stderr.write(`Receive connector ${rc.name}: ${binding} is not listening (${rest.join(' ')}).\n`);
        }
      }
      process.stdout.write(`Server ${server.serverName}: admin center and API at ${server.adminUrl}, SMTP on ${[...new Set(listening)].join(', ') || 'no binding'}.\n`);
      notifySystemdReady();
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  registerShellCommand(program);
  registerHostSetupCommands(program);
  registerInstallServiceCommand(program, port);

  try {
    await program.parseAsync(normalizeArgv(argv));
  } catch (e) {
    if (isInterchangeError(e)) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    // A system error at start-up (a file, a socket) is one line naming it, not a stack trace.
    const errno = e as NodeJS.ErrnoException;
    if (errno && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
      process.stderr.write(`interchange: ${errno.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/** Under systemd (Type=notify), says the server is ready: every listener is open. Node cannot send to the notify socket itself (a datagram Unix socket). */
function notifySystemdReady(): void {
  if (!process.env.NOTIFY_SOCKET) return;
  spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' }).on('error', () => undefined);
}
