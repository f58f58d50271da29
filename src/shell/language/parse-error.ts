/**
 * A syntax error with PowerShell's error id and the offending span. `incomplete`
 * marks errors caused by running out of input (open string, brace, trailing pipe),
 * which the REPL answers with a continuation prompt instead of an error.
 */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly errorId: string,
    readonly offset: number,
    readonly length: number,
    readonly incomplete: boolean,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

/** 1-based line and column of an offset, and the text of that line. */
export function positionOf(source: string, offset: number): { line: number; column: number; lineText: string; lineStart: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  let lineEnd = source.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = source.length;
  const lineText = source.slice(lineStart, lineEnd).replace(/\r$/, '');
  return { line, column: offset - lineStart + 1, lineText, lineStart };
}
