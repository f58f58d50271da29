// Starts the shell against the fake host in the terminal it runs in; the tmux
// test types into it as a person would. Arguments: <history file> [-Command text].
import { runShell } from '../../src/shell/run.js';
import { FakeHost } from './fake-host.js';

const [historyFile, flag, command] = process.argv.slice(2);
const code = await runShell({
  host: new FakeHost(),
  command: flag === '-Command' ? command : undefined,
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
