
import { assert, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openDatabase } from '../platform/sqlite.ts';
import { gammuProviderId, readSmsdFolders, scanGammuErrors, scanGammuInbox } from './gammu.ts';
import { AlertOutbox } from './outbox.ts';
import { AlertService } from './service.ts';
import { laiChauContext } from './test-fixtures.ts';
import type { SmsTransport } from './transports.ts';

const log = pino({ level: 'silent' });

it('readSmsdFolders reads the [smsd] folders, case-insensitively, ignoring comments and other sections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gammu-cfg-'));
  const file = join(dir, 'smsdrc');
  writeFileSync(file, '[gammu]\ndevice = /dev/ttyUSB0\ninboxpath = /wrong/\n\n[smsd]\n# comment\nService = files\nInboxPath = /var/spool/gammu/inbox/\nOutboxPath=/var/spool/gammu/outbox/\nsentsmspath = /var/spool/gammu/sent/\n; errorsmspath = /old/\nerrorsmspath = /var/spool/gammu/error/\n');
  expect(readSmsdFolders(file)).toStrictEqual({ inboxPath: '/var/spool/gammu/inbox/', outboxPath: '/var/spool/gammu/outbox/', sentPath: '/var/spool/gammu/sent/', errorPath: '/var/spool/gammu/error/' });
  rmSync(dir, { recursive: true, force: true });
});

it('messages gammu-smsd moved to its error folder are marked failed; replies in its inbox acknowledge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gammu-scan-'));
  const ctx = laiChauContext();
  const outbox = new AlertOutbox(openDatabase(join(dir, 'alerts.sqlite')), { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900 });
  const names = new Map<number, string>();
  // Stands in for gammu-smsd-inject: answers with the outbox file name it would have written.
  const transport: SmsTransport = {
    name: 'gammu',
    send: async (sms) => {
      const name = `OUTC20260314_140500_${String(sms.outboxId).padStart(2, '0')}_${sms.to}_sms0.smsbackup`;
      names.set(sms.outboxId, name);
      return { ok: true, providerId: gammuProviderId(name) };
    },
  };
  const service = new AlertService({ ctx, outbox, transport, log, segmentsPerSecond: 1000, burst: 100, concurrency: 4, retry: { baseMs: 5, capMs: 10 }, validityS: 900 });
  service.start();
  try {
    service.handleEvent({ eventId: 'gammu-unit-1', kind: 'fire-suspected', zoneId: 'tan-phong', nodeId: 'tan-phong-01', ts: new Date().toISOString(), detail: {} });
    const deadline = Date.now() + 5000;
    while (outbox.countsByState().sent === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const [row] = outbox.rows('sent');
    assert(row);
    const errorDir = join(dir, 'error');
    mkdirSync(errorDir);
    writeFileSync(join(errorDir, names.get(row.id) ?? ''), '[SMSBackup000]\n');
    writeFileSync(join(errorDir, 'not-a-message.txt'), '');
    expect(scanGammuErrors(errorDir, outbox, log, Date.now())).toBe(1);
    expect(outbox.rows('all').find((r) => r.id === row.id)?.state).toBe('failed');
    expect(existsSync(join(errorDir, 'processed', names.get(row.id) ?? '')), 'moved aside, not read twice').toBe(true);
    expect(scanGammuErrors(errorDir, outbox, log, Date.now())).toBe(0);

    const alert = service.listAlerts('all')[0];
    assert(alert?.ackCode);
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    // inboxformat = unicode: UTF-16LE with a BOM; standard: 8-bit text.
    writeFileSync(join(inbox, `IN20260314_140700_00_${row.phone}_00.txt`), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`Đã nhận ${alert.ackCode}`, 'utf16le')]));
    writeFileSync(join(inbox, 'IN20260314_140600_00_+84009999999_00.txt'), `da nhan ${alert.ackCode}`);
    expect(scanGammuInbox(inbox, service, log)).toBe(2);
    const acked = service.listAlerts('all')[0];
    expect(acked?.status).toBe('acknowledged');
    expect(acked?.ack?.channel).toBe('modem');
    expect(acked?.acks.length).toBe(1);
  } finally {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
