// The commands that set up an organization across hosts: `prepare-directory`
// (Exchange's `Setup /PrepareAD`: the PostgreSQL role, database and schema) and
// `join` (a new host's data folder, fetched from a running server over TLS).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDirectoryUrl } from '../directory/directory-url.js';
import { prepareDirectory } from '../directory/postgres/prepare-directory.js';
import { recordDirectory, recordedDirectory } from '../directory/recorded-directory.js';
import { embeddedDirectoryFile } from '../directory/open-directory.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { joinHost } from '../organization/join-host.js';
import { prepareDataFolder } from '../server/data-folder.js';

/** How this CLI was started, for the next command it prints: runnable as shown from the current folder. */
function cli(): string {
  const script = process.argv[1];
  if (!script) return 'interchange';
  const relative = path.relative(process.cwd(), script);
  return `node ${relative.startsWith('..') || path.isAbsolute(relative) ? script : relative}`;
}

const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function registerHostSetupCommands(program: Command): void {
  program
    .command('prepare-directory')
    .description("Create the PostgreSQL role and database of the organization's directory, and its schema (as Exchange's Setup /PrepareAD); a prepared directory is left as it is.")
    .requiredOption('--admin-directory <url>', 'postgres://… of a role that may create roles and databases, e.g. postgres://postgres@db.contoso.com/postgres')
    .requiredOption('--directory <url>', 'the directory the servers will use, e.g. postgres://interchange@db.contoso.com/interchange (the role and database to create)')
    .option('--data <dir>', "a data folder to keep the role's password in (mode 0600) for serve, instead of printing it")
    .action(async (o: { adminDirectory: string; directory: string; data?: string }) => {
      process.umask(0o077);
      // The folder is checked before the cluster changes, so a bad --data leaves nothing half-made.
      if (o.data !== undefined) refuseFolderOfAnotherDirectory(o.data, o.directory);
      const done = await prepareDirectory({ adminDirectory: o.adminDirectory, directory: o.directory });
      const out: string[] = [];
      if (!done.createdRole && !done.createdDatabase && done.applied.length === 0) {
        out.push(`The directory ${done.directory} is prepared already (role ${done.role}, database ${done.database}, schema version ${done.schemaVersion}): nothing was changed.`);
      } else {
        out.push(done.createdRole ? `Created role ${done.role} (LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE).` : `Role ${done.role} exists: left as it is.`);
        out.push(done.createdDatabase ? `Created database ${done.database}, owned by ${done.role}, closed to other roles.` : `Database ${done.database} exists: left as it is.`);
        out.push(done.applied.length ? `Directory schema version ${done.schemaVersion}: applied ${done.applied.join(', ')} as ${done.role}.` : `Directory schema version ${done.schemaVersion}: up to date.`);
      }
      const target = parseDirectoryUrl(o.directory);
      const password = done.generatedPassword ?? (target.kind === 'postgres' ? target.password : undefined);
      if (o.data !== undefined && target.kind === 'postgres') {
        // A folder that records this directory already keeps its password: a run without one leaves it there.
        if (password !== undefined || recordedDirectory(o.data) === undefined) recordDirectory(o.data, { ...target, ...(password !== undefined ? { password } : {}) });
        if (password !== undefined) out.push(`The password of role ${done.role} is kept in ${path.join(path.resolve(o.data), 'directory-password')} (mode 0600).`);
      } else if (done.generatedPassword !== undefined) {
        out.push(`Password of role ${done.role} (shown once; or run again with --data to keep it in a data folder): ${done.generatedPassword}`);
      }
      out.push('Start the first server of the organization:', `  ${cli()} serve --data ${quote(o.data ?? '/var/lib/interchange')} --server EX01 --directory ${quote(done.directory)}`);
      if (done.generatedPassword !== undefined && o.data === undefined) out.push(`  (put the password in the URL once, postgres://${done.role}:<password>@…; serve keeps it in the data folder's directory-password)`);
      process.stdout.write(out.join('\n') + '\n');
    });

  program
    .command('join')
    .description("Prepare an empty data folder for a new server of an organization: its id, the directory URL and password, and keyvault.key are fetched from a running server's HTTPS admin API, pinned to its certificate's thumbprint.")
    .requiredOption('--data <dir>', 'the new, empty data folder')
    .requiredOption('--server <name>', 'the name of the server that will run on this host')
    .requiredOption('--from <url>', 'the HTTPS admin address of a running server of the organization, e.g. https://ex01.contoso.com:8080')
    .requiredOption('--thumbprint <thumbprint>', "the thumbprint of that server's IIS certificate (Get-ExchangeCertificate there)")
    .option('--token-file <file>', 'a file holding an Organization Management token (default: read from standard input)')
    .action(async (o: { data: string; server: string; from: string; thumbprint: string; tokenFile?: string }) => {
      process.umask(0o077);
      const token = readToken(o.tokenFile);
      const joined = await joinHost({ dataDir: o.data, server: o.server, from: o.from, thumbprint: o.thumbprint, token });
      process.stdout.write(
        [
          `Joined organization ${joined.organization}${joined.answeredBy ? ` (from ${joined.answeredBy})` : ''}: ${joined.dataDir} holds keyvault.key, organization, directory-url and admin-token (mode 0600).`,
          `Start the server:`,
          `  ${cli()} serve --data ${quote(o.data)} --server ${quote(joined.server)} --directory ${quote(joined.directory)}`,
        ].join('\n') + '\n',
      );
    });
}

/**
 * `--data` names where serve will find the directory: a folder that already records another one, or that holds
 * an embedded organization, is some server's and is not pointed elsewhere.
 */
function refuseFolderOfAnotherDirectory(dataDir: string, directory: string): void {
  const target = parseDirectoryUrl(directory);
  prepareDataFolder(dataDir);
  const recorded = recordedDirectory(dataDir);
  const other = recorded?.kind === 'postgres' && target.kind === 'postgres' && recorded.withoutPassword !== target.withoutPassword ? recorded.withoutPassword : undefined;
  if (other || (!recorded && fs.existsSync(embeddedDirectoryFile(dataDir)))) {
    throw new InterchangeError(
      'ICX_ORGANIZATION_MISMATCH',
      `The data folder ${path.resolve(dataDir)} already uses ${other ? `the directory ${other}` : `the embedded directory ${embeddedDirectoryFile(dataDir)}`}: give --data a new folder, or none to have the password printed. Nothing was changed.`,
    );
  }
}

/** A token never comes from argv, which every user of the host can read in the process list. */
function readToken(file: string | undefined): string {
  let text: string;
  if ((file === undefined || file === '-') && process.stdin.isTTY) process.stderr.write('Administrator token (then Enter and Ctrl+D): ');
  try {
    text = fs.readFileSync(file === undefined || file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new InterchangeError('ICX_AUTH_REQUIRED', `The administrator token cannot be read from ${file ?? 'standard input'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  const token = text.trim().split(/\r?\n/)[0]?.trim() ?? '';
  if (!token) throw new InterchangeError('ICX_AUTH_REQUIRED', `No administrator token in ${file ?? 'standard input'}: give --token-file <file> or pipe the token in.`);
  return token;
}
