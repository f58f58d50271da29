// Errors as the PowerShell 5.1 console shows them: message (prefixed by the
// command), position with the line and a ~~~ marker, CategoryInfo and
// FullyQualifiedErrorId.

import { positionOf } from '../language/parse-error.js';
import type { ErrorRecord } from '../runtime/errors.js';

function positionLines(rec: ErrorRecord): string[] {
  const span = rec.fields.span;
  if (!span) return [];
  const { line, column, lineText, lineStart } = positionOf(span.source, span.start);
  const where = span.file ? `At ${span.file}:${line} char:${column}` : `At line:${line} char:${column}`;
  const lineEnd = lineStart + lineText.length;
  const end = Math.min(Math.max(span.end, span.start + 1), Math.max(lineEnd, span.start + 1));
  const marker = ' '.repeat(column - 1) + '~'.repeat(Math.max(1, end - span.start));
  return [where, '+ ' + lineText, '+ ' + marker];
}

function categoryInfo(rec: ErrorRecord): string {
  const f = rec.fields;
  const target = f.target ?? '';
  const targetType = f.targetType ?? '';
  return `${f.category}: (${target}:${targetType}) [${f.activity ?? f.commandName ?? ''}], ${f.exceptionName}`;
}

/** The full console rendering of an error record, ending with a newline. */
export function renderError(rec: ErrorRecord): string {
  const lines: string[] = [];
  if (rec.fields.category === 'ParserError') {
    lines.push(...positionLines(rec));
    lines.push(rec.message);
  } else {
    lines.push(rec.fields.commandName ? `${rec.fields.commandName} : ${rec.message}` : rec.message);
    lines.push(...positionLines(rec));
  }
  lines.push(`    + CategoryInfo          : ${categoryInfo(rec)}`);
  lines.push(`    + FullyQualifiedErrorId : ${rec.fields.errorId}`);
  return lines.join('\n') + '\n';
}

/** A warning line as the console shows it. */
export function renderWarning(message: string): string {
  return `WARNING: ${message}\n`;
}
