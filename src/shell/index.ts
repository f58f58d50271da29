// Public surface of the shell for the CLI and for tests.
export { runShell, type RunShellOptions } from './run.js';
export { createHttpCmdletHost, type CmdletHost, type CmdletCatalog, type HttpCmdletHostOptions } from './host.js';
export { parseScript, isIncompleteInput } from './language/parser.js';
export { ParseError } from './language/parse-error.js';
export { Runtime, type HostUI } from './runtime/evaluator.js';
export { createBuiltins } from './builtins/index.js';
