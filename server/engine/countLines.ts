// Physical lines and binary detection of blob contents, on raw bytes (no decoding: the count
// must not depend on the file's encoding, and decoding would cost more than counting).

const NEWLINE = 0x0a;
/** git's buffer_is_binary looks at this many leading bytes (FIRST_FEW_BYTES in xdiff-interface.c). */
const BINARY_PROBE = 8000;

/**
 * Physical lines: the number of '\n' bytes, plus one when the content does not end with '\n'.
 * An empty file has 0 lines; "a" and "a\n" have 1; "\r\n" line ends count once each.
 */
export function countLines(buf: Buffer): number {
  const len = buf.length;
  if (len === 0) return 0;
  let lines = 0;
  // indexOf is a native memchr; far faster than a JS byte loop or splitting into strings.
  for (let i = buf.indexOf(NEWLINE); i !== -1; i = buf.indexOf(NEWLINE, i + 1)) lines++;
  return buf[len - 1] === NEWLINE ? lines : lines + 1;
}

/** Binary as git decides it: a NUL byte among the first 8000 bytes. */
export function isBinary(buf: Buffer): boolean {
  const nul = buf.indexOf(0);
  return nul !== -1 && nul < BINARY_PROBE;
}
