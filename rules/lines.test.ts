import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachLine } from './lines.ts';

describe('forEachLine: numbered lines across chunk boundaries, CRLF, multi-byte characters, no final newline', () => {
  const lines = ['{"a":"Lai Châu"}', '', 'San Thàng — Đông Phong', 'x'.repeat(50), 'cuối'];
  let dir = '';
  let file = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rules-lines-'));
    file = join(dir, 'x.ndjson');
    writeFileSync(file, lines.slice(0, 3).join('\r\n') + '\n' + lines.slice(3).join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([7, 8, 13, 64, 1 << 16])('chunks of %i bytes', (chunk) => {
    const onLine = vi.fn<(line: string, lineNo: number) => void>();
    forEachLine(file, onLine, chunk);
    expect(onLine.mock.calls).toStrictEqual(lines.map((l, i) => [l, i + 1]));
  });
});
