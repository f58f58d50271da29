// Writes docs/errors.md from the error catalog, so the documented codes are the thrown ones.
import fs from 'node:fs';
import { ERROR_CATALOG } from '../src/errors/catalog.js';

const rows = Object.entries(ERROR_CATALOG).map(([code, e]) => `| \`${code}\` | ${e.category} | ${e.httpStatus} | ${e.summary} |`);
const text = `# Error codes

Every failure Interchange reports carries one of these stable codes. The shell shows it as the
\`FullyQualifiedErrorId\`, the HTTP API in \`error.code\` with the HTTP status below, and the admin audit log
in the \`Error\` field. Generated from \`src/errors/catalog.ts\` by \`npx tsx scripts/gen-error-docs.ts\`.

| code | PowerShell category | HTTP status | meaning |
| --- | --- | --- | --- |
${rows.join('\n')}
`;
fs.writeFileSync(new URL('../docs/errors.md', import.meta.url), text);
