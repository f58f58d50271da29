// The local cmdlets of the shell: PowerShell's own utility cmdlets that
// Exchange procedures use. Exchange cmdlets are never here; they live on the server.

import { dataBuiltins } from './data.js';
import { objectBuiltins } from './objects.js';
import { outputBuiltins } from './output.js';
import { sessionBuiltins } from './session.js';
import type { Builtin } from './types.js';

export function createBuiltins(): Builtin[] {
  return [...objectBuiltins, ...outputBuiltins, ...dataBuiltins, ...sessionBuiltins];
}

export type { Builtin } from './types.js';
