#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` produces dist/.
import v8 from 'node:v8';

// Before any file system call: libuv's default of 4 threads is shared by the
// spool's writes and fsyncs, protocol logs, DNS lookups and SMTP AUTH's scrypt
// checks (up to 4 at once); a burst of logins must not stall the 250s.
process.env.UV_THREADPOOL_SIZE ??= '16';
// Under a steady mail load V8's adaptive heap sizing let the old generation
// grow to several times the live data (RSS 350+ MiB at 100 sessions, with
// about 50 MiB live). A fixed growth factor of 1.3 keeps it near 200 MiB for a
// few percent of throughput, and, unlike --max-old-space-size, never turns a
// large queue into an out-of-memory crash. docs/benchmarks.md has the runs.
v8.setFlagsFromString('--heap-growing-percent=30');

import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
