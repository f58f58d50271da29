#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` produces dist/.
// Before any file system call: the durable queue fsyncs many files at once, and
// libuv's default of 4 threads would serialize them.
process.env.UV_THREADPOOL_SIZE ??= '16';
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
