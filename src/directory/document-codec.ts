// Records hold Dates and Buffers; JSON has neither. Tagging them keeps the
// stored documents readable in any SQL client and lossless on the way back.

export function encodeDocument(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: raw.toISOString() };
    if (Buffer.isBuffer(raw)) return { $buf: raw.toString('base64') };
    return v;
  });
}

export function decodeDocument<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$date === 'string' && Object.keys(o).length === 1) return new Date(o.$date);
      if (typeof o.$buf === 'string' && Object.keys(o).length === 1) return Buffer.from(o.$buf, 'base64');
    }
    return v;
  }) as T;
}
