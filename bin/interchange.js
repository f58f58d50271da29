#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` produces dist/.

// Before any file system call: libuv's default of 4 threads is shared by the
// spool's writes and fsyncs, protocol logs, DNS lookups and SMTP AUTH's scrypt
// checks (up to 4 at once); a burst of logins must not stall the 250s.
process.env.UV_THREADPOOL_SIZE ??= '16';

import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
