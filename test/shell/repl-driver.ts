// Starts the interactive shell against the fake host; the REPL test runs it in a
// real pseudo-terminal (tmux) and types into it as a person would.
import { runShell } from '../../src/shell/run.js';
import { FakeHost } from './fake-host.js';

const historyFile = process.argv[2];
const code = await runShell({
  host: new FakeHost(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  interactive: true,
  nonInteractive: false,
  historyFile,
  prompt: '[PS] EX01>',
});
process.stdout.write(`\n[shell exited with ${code}]\n`);
process.exit(code);
