import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { pinnedFetch } from '../security/pinned-fetch.js';
import { createHttpCmdletHost, runShell } from '../shell/index.js';
import { envDirectory, resolveConnection } from './connect.js';

/** `interchange shell`: the Interchange Management Shell, connected to one server's admin API. */
export function registerShellCommand(program: Command): void {
  program
    .command('shell')
    .description('The Interchange Management Shell (Exchange Management Shell cmdlets over the admin API).')
    .option('--command <text>', 'run these commands and exit (also -Command)')
    .option('--file <script>', 'run a script file and exit (also -File)')
    .option('--non-interactive', 'never prompt; commands that need confirmation fail (also -NonInteractive)')
    .option('--no-profile', 'accepted for compatibility (-NoProfile)')
    .option('--data <dir>', 'data folder of a local organization', './interchange-data')
    .option('--server <name>', 'server of the organization to connect to')
    .option('--url <url>', 'admin API of a remote server (or INTERCHANGE_URL)')
    .option('--token <token>', 'administrator token (or INTERCHANGE_TOKEN)')
    .option('--directory <url>', 'postgres://… directory to find servers in (default: the one serve used with --data)')
    .option('--trust-certificate <file>', "with --url https://…: trust this certificate (DER or PEM, e.g. the server's self-signed one) instead of a public CA")
    .action(async (o) => {
      const connection = await resolveConnection({ url: o.url, token: o.token, dataDir: o.data, server: o.server, directoryUrl: o.directory ?? envDirectory(), trustCertificate: o.trustCertificate });
      if (connection.notice) process.stderr.write(connection.notice + '\n');
      const host = createHttpCmdletHost({ url: connection.url, token: connection.token, ...(connection.serverName ? { server: connection.serverName } : {}), ...(connection.trust ? { fetch: pinnedFetch(connection.trust) } : {}) });
      const stdinIsTerminal = process.stdin.isTTY === true;
      const code = await runShell({
        host,
        command: o.command,
        file: o.file,
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        interactive: !o.command && !o.file && stdinIsTerminal,
        nonInteractive: !!o.nonInteractive,
        historyFile: path.join(os.homedir(), '.interchange_history'),
        prompt: `[PS] ${connection.serverName || connection.url}> `,
      });
      process.exitCode = code;
    });
}
