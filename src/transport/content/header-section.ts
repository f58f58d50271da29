// Where a message's header section ends (RFC 5322 section 2.1): the receive side reads Subject, Message-ID and the
// hop count from it, the send side looks in it for 8-bit text, a delivery report quotes it. One definition, so
// that a message the three see differently cannot be built.

const BLANK_LINE = Buffer.from('\r\n\r\n');

/**
 * The length of the header section, through the CRLF that ends its last field: 0 when the content starts with
 * its blank line (no header section, every line after it is body), -1 when `content` holds no blank line.
 */
export function headerSectionLength(content: Buffer): number {
  if (content.length >= 2 && content[0] === 0x0d && content[1] === 0x0a) return 0;
  const blank = content.indexOf(BLANK_LINE);
  return blank < 0 ? -1 : blank + 2;
}
