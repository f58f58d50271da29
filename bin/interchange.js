#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` produces dist/.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
