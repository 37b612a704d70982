import { describe, expect, it } from 'vitest';
import { derivePassword } from '../platform/credentials.ts';
import { mosquittoAclFile, mosquittoPlainPasswords } from './mosquitto-acl.ts';

/** The lines of one `user` block. */
function block(acl: string, user: string): string[] {
  const lines = acl.split('\n');
  const start = lines.indexOf(`user ${user}`);
  expect(start, `user ${user} block`).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end);
}

describe('broker/acl.ts as a Mosquitto acl_file', () => {
  const acl = mosquittoAclFile();

  it('nodes publish only their own readings and status (pattern %u), and read nothing', () => {
    expect(acl).toContain('pattern write ews/v1/readings/%u\n');
    expect(acl).toContain('pattern write ews/v1/status/%u\n');
    expect(acl.split('\n').filter((l) => l.startsWith('pattern'))).toHaveLength(2);
  });

  it('svc-ingest: reads readings, status and the clock; writes only its own dead letters and clock status', () => {
    expect(block(acl, 'svc-ingest')).toStrictEqual([
      'topic read ews/v1/readings/+',
      'topic read ews/v1/status/+',
      'topic read ews/v1/clock',
      'topic read ews/v1/drill/readings/+',
      'topic write ews/v1/deadletter/ingest',
      'topic write ews/v1/clock/pipeline/ingest',
    ]);
  });

  it('svc-simulator writes readings, status and the run clock; svc-board writes nothing', () => {
    expect(block(acl, 'svc-simulator')).toEqual(expect.arrayContaining(['topic write ews/v1/readings/#', 'topic write ews/v1/status/#', 'topic write ews/v1/clock']));
    expect(block(acl, 'svc-board').filter((l) => l.startsWith('topic write'))).toStrictEqual([]);
  });

  it('svc-alerts may announce alerts and drills; svc-rules drill events only; svc-simulator drill readings only', () => {
    expect(block(acl, 'svc-alerts')).toEqual(expect.arrayContaining(['topic write ews/v1/alerts/#', 'topic write ews/v1/drill/events/#', 'topic write ews/v1/drill/alerts/#']));
    expect(block(acl, 'svc-rules')).not.toContain('topic write ews/v1/alerts/#');
    expect(block(acl, 'svc-rules').filter((l) => l.includes('drill'))).toStrictEqual(['topic read ews/v1/drill/readings/+', 'topic write ews/v1/drill/events/#']);
    expect(block(acl, 'svc-simulator').filter((l) => l.includes('drill'))).toStrictEqual(['topic read ews/v1/drill/requests/+', 'topic write ews/v1/drill/readings/#']);
    expect(block(acl, 'svc-alerts')).toContain('topic write ews/v1/drill/requests/#');
  });

  it('passwords: every service account and node, derived from the broker secret', () => {
    const text = mosquittoPlainPasswords('s'.repeat(20), ['nam-loong-01']);
    expect(text.split('\n').filter(Boolean)).toHaveLength(8);
    expect(text).toContain(`nam-loong-01:${derivePassword('s'.repeat(20), 'nam-loong-01')}\n`);
    expect(text).toContain(`svc-ingest:${derivePassword('s'.repeat(20), 'svc-ingest')}\n`);
  });
});
