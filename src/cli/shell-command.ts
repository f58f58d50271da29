import type { Command } from 'commander';

/** `interchange shell`: wired to the shell runtime once it lands. */
export function registerShellCommand(program: Command): void {
  program
    .command('shell')
    .description('The Interchange Management Shell.')
    .allowUnknownOption(false)
    .option('--command <text>', 'run these commands and exit (-Command)')
    .option('--file <script>', 'run a script file and exit (-File)')
    .option('--non-interactive', 'never prompt (-NonInteractive)')
    .option('--data <dir>', 'data folder of a local organization', './interchange-data')
    .option('--server <name>', 'server to connect to')
    .option('--url <url>', 'admin API of a remote server')
    .option('--token <token>', 'administrator token')
    .action(async () => {
      throw new Error('The shell is not available in this build.');
    });
}
