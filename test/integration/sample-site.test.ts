// The sample site file is generated (scripts/generate-sample-site.ts): running the generator as a
// process must give the committed file byte for byte, so nobody edits the sample by hand.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the committed site file', () => {
  it('regenerating the sample site gives the committed file byte for byte', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-sample-site.ts'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toBe(readFileSync(new URL('../../config/lai-chau.site.yaml', import.meta.url), 'utf8'));
  });
});
