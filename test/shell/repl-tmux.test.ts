// The interactive shell driven as a person would, in a real pseudo-terminal:
// tmux runs it, send-keys types, capture-pane reads the screen. Covers
// completion, a confirmation prompt answered, errors, continuation lines,
// Ctrl-C cancelling a running command, prompting for a mandatory parameter,
// exit codes and history kept across sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Terminal } from '../support/terminal.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OLD = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

/** The shell's REPL driver (a fake cmdlet host) in a real terminal. */
function startShell(session: string, historyFile: string, command?: string): Terminal {
  const args = command === undefined ? '' : ` -Command '${command.replace(/'/g, "'\\''")}'`;
  return Terminal.start(session, `node --import tsx test/shell/repl-driver.ts ${historyFile}${args}`, { cwd: ROOT });
}

test('interactive shell in a real terminal', { timeout: 120000 }, async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-repl-'));
  const history = path.join(dir, 'history');
  const term = startShell(`shell-repl-${process.pid}`, history);
  try {
    await term.waitFor(/\[PS\] EX01> $/m);

    // Completion of a cmdlet name, then a pipeline with a wildcard property.
    term.type('Get-ExchangeCert');
    term.keys('Tab');
    await term.waitFor(/\[PS\] EX01> Get-ExchangeCertificate$/m);
    term.type(' | Format-List Thumb*');
    term.keys('Enter');
    await term.waitFor(/Thumbprint : FFEE0011223344556677889900AABBCCDDEEFF00/);

    // Case-insensitive completion of a cmdlet, a parameter and an enum value.
    term.type('set-sendc');
    term.keys('Tab');
    await term.waitFor(/> Set-SendConnector$/m);
    term.type(' -TlsA');
    term.keys('Tab');
    await term.waitFor(/> Set-SendConnector -TlsAuthLevel$/m);
    term.type(' cert');
    term.keys('Tab');
    await term.waitFor(/> Set-SendConnector -TlsAuthLevel CertificateValidation$/m);
    term.keys('C-u');
    await term.waitFor(/\[PS\] EX01> $/m);

    // A confirmation prompt answered, then the server's refusal rendered as PowerShell does.
    term.type(`Remove-ExchangeCertificate -Thumbprint ${OLD}`);
    term.keys('Enter');
    await term.waitFor(/Are you sure you want to perform this action\?\nRemove certificate with thumbprint A1B2C3D4E5F60718293A4B5C6D7E8F9012345678 from the computer's certificate store\?\n\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[\?\] Help \(default is "Y"\): $/m);
    term.type('y');
    term.keys('Enter');
    const refused = await term.waitFor(/FullyQualifiedErrorId : ICX_CERT_IN_USE_SEND_CONNECTOR,Remove-ExchangeCertificate\n\[PS\] EX01> $/m);
    assert.match(refused, /Remove-ExchangeCertificate : A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound\./);

    // An unknown cmdlet.
    term.type('Get-Foo -Bar 1');
    term.keys('Enter');
    await term.waitFor(/Get-Foo : The term 'Get-Foo' is not recognized as the name of a cmdlet, function, script file, or operable program\./);

    // An unfinished statement continues on a >> line.
    term.type('if ($true) {');
    term.keys('Enter');
    await term.waitFor(/^>> $/m);
    term.type('"inside " + 1');
    term.keys('Enter');
    term.type('}');
    term.keys('Enter');
    await term.waitFor(/^inside 1\n\[PS\] EX01> $/m);

    // Ctrl-C stops a command that waits on the server, and the shell lives on.
    term.type('Get-Queue');
    term.keys('Enter');
    await new Promise((r) => setTimeout(r, 700));
    term.keys('C-c');
    await term.waitFor(/> Get-Queue\n\n\[PS\] EX01> $/m);
    term.type('Write-Output "still here"');
    term.keys('Enter');
    await term.waitFor(/^still here$/m);

    // Ctrl-C on an unfinished line discards it.
    term.type('Get-ExchangeCertificate |');
    term.keys('Enter');
    await term.waitFor(/^>> $/m);
    term.keys('C-c');
    await term.waitFor(/\^C\n\[PS\] EX01> $/m);

    // A missing mandatory parameter is prompted for.
    term.type('New-SendConnector -Name Internet');
    term.keys('Enter');
    await term.waitFor(/cmdlet New-SendConnector at command pipeline position 1\nSupply values for the following parameters:\nAddressSpaces\[0\]: $/m);
    term.type('SMTP:*;1');
    term.keys('Enter');
    await term.waitFor(/AddressSpaces\[1\]: $/m);
    term.keys('Enter');
    await term.waitFor(/Internet +\{SMTP:\*;1\} +True/);

    // A secure string is read without echo.
    term.type('$p = Read-Host -AsSecureString -Prompt Password');
    term.keys('Enter');
    await term.waitFor(/Password: $/m);
    term.type('hunter2');
    term.keys('Enter');
    const afterSecret = await term.waitFor(/Password: \*+\n\[PS\] EX01> $/m);
    assert.doesNotMatch(afterSecret, /hunter2/);

    // Member names of a variable's value complete too.
    term.type('$c = Get-ExchangeCertificate | Select-Object -First 1');
    term.keys('Enter');
    // Completion reads $c, so the assignment must have finished first.
    await term.waitFor(/> \$c = Get-ExchangeCertificate \| Select-Object -First 1\n\[PS\] EX01> $/m);
    term.type('$c.Friendly');
    term.keys('Tab');
    await term.waitFor(/> \$c\.FriendlyName$/m);
    term.keys('Enter');
    await term.waitFor(/^Old\n\[PS\] EX01> $/m);

    term.type('exit 4');
    term.keys('Enter');
    await term.waitFor(/\[shell exited with 4\]/);
    term.kill();

    const saved = await fs.readFile(history, 'utf8');
    assert.match(saved, /Get-Foo -Bar 1\n/);
    assert.match(saved, /exit 4\n$/);
    assert.doesNotMatch(saved, /hunter2/, 'answers to prompts are not history');

    // History survives into the next session: Up recalls the last command.
    const again = startShell(`shell-repl2-${process.pid}`, history);
    try {
      await again.waitFor(/\[PS\] EX01> $/m);
      again.keys('Up');
      await again.waitFor(/\[PS\] EX01> exit 4$/m);
    } finally {
      again.kill();
    }
  } finally {
    term.kill();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('-Command mode asks on the terminal too; Ctrl-C at the question stops the script', { timeout: 60000 }, async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-cmd-'));
  const answered = startShell(`shell-cmd-${process.pid}`, path.join(dir, 'h'), `Remove-ExchangeCertificate -Thumbprint ${OLD}; 'after the question'`);
  try {
    await answered.waitFor(/\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[\?\] Help \(default is "Y"\): $/m);
    answered.type('n');
    answered.keys('Enter');
    await answered.waitFor(/^after the question\n\n\[shell exited with 0\]/m);
  } finally {
    answered.kill();
  }
  const interrupted = startShell(`shell-cmd2-${process.pid}`, path.join(dir, 'h'), `Remove-ExchangeCertificate -Thumbprint ${OLD}; 'not reached'`);
  try {
    await interrupted.waitFor(/Help \(default is "Y"\): $/m);
    interrupted.keys('C-c');
    const screen = await interrupted.waitFor(/\[shell exited with 1\]/);
    assert.doesNotMatch(screen, /not reached/);
  } finally {
    interrupted.kill();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
