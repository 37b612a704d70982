
import { expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachLine } from './lines.ts';

it('forEachLine: numbered lines across chunk boundaries, CRLF, multi-byte characters, no final newline', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'rules-lines-')), 'x.ndjson');
  const lines = ['{"a":"Lai Châu"}', '', 'San Thàng — Đông Phong', 'x'.repeat(50), 'cuối'];
  writeFileSync(file, lines.slice(0, 3).join('\r\n') + '\n' + lines.slice(3).join('\n'));
  for (const chunk of [7, 8, 13, 64, 1 << 16]) {
    const seen: [number, string][] = [];
    forEachLine(file, (l, n) => seen.push([n, l]), chunk);
    expect(seen, `chunk ${chunk}`).toStrictEqual(lines.map((l, i) => [i + 1, l]));
  }
});
