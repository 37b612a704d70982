// Streaming line reader for large NDJSON files (flat memory).
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Reads a file (or stdin with '-') in chunks and hands out complete lines with 1-based numbers;
 * flat memory. Bytes are decoded only up to a newline, so a multi-byte UTF-8 character split by a
 * chunk boundary stays whole. CRLF line ends are accepted; a last line without newline is kept.
 */
export function forEachLine(file: string, fn: (line: string, lineNo: number) => void, chunkBytes = 1 << 22, onChunk?: (bytesRead: number, lines: number) => void): void {
  const fd = file === '-' ? 0 : openSync(file, 'r');
  const buf = Buffer.allocUnsafe(chunkBytes);
  let pending: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let bytesRead = 0;
  const emit = (text: string) => {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl;
      fn(text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end), ++lineNo);
      if (nl < 0) return;
      start = nl + 1;
    }
  };
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((err as NodeJS.ErrnoException).code === 'EOF') break;
        throw err;
      }
      if (n === 0) break;
      bytesRead += n;
      const lastNl = buf.lastIndexOf(10, n - 1);
      if (lastNl < 0) {
        pending = Buffer.concat([pending, buf.subarray(0, n)]);
        continue;
      }
      const head = pending.length ? Buffer.concat([pending, buf.subarray(0, lastNl)]) : buf.subarray(0, lastNl);
      emit(head.toString('utf8'));
      pending = Buffer.from(buf.subarray(lastNl + 1, n)); // copy: buf is reused
      onChunk?.(bytesRead, lineNo);
    }
    if (pending.length) emit(pending.toString('utf8'));
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}
