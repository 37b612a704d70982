// gammu-smsd files-backend helpers without the daemon (the real daemon: test/integration/alerts-gammu.test.ts).
import { assert, expect, it, onTestFinished, vi } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openDatabase } from '../platform/sqlite.ts';
import { gammuProviderId, readSmsdFolders, scanGammuErrors, scanGammuInbox } from './gammu.ts';
import { AlertOutbox } from './outbox.ts';
import { AlertService } from './core.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import type { OutgoingSms, SmsTransport } from './transports.ts';

const log = pino({ level: 'silent' });

/** A fresh directory, removed when the test ends. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The outbox file name gammu-smsd-inject would have written for a message. */
const outboxFileName = (sms: OutgoingSms) => `OUTC20260314_140500_${String(sms.outboxId).padStart(2, '0')}_${sms.to}_sms0.smsbackup`;

it('readSmsdFolders reads the [smsd] folders, case-insensitively, ignoring comments and other sections', () => {
  const file = join(tempDir('gammu-cfg-'), 'smsdrc');
  writeFileSync(file, '[gammu]\ndevice = /dev/ttyUSB0\ninboxpath = /wrong/\n\n[smsd]\n# comment\nService = files\nInboxPath = /var/spool/gammu/inbox/\nOutboxPath=/var/spool/gammu/outbox/\nsentsmspath = /var/spool/gammu/sent/\n; errorsmspath = /old/\nerrorsmspath = /var/spool/gammu/error/\n');
  expect(readSmsdFolders(file)).toStrictEqual({ inboxPath: '/var/spool/gammu/inbox/', outboxPath: '/var/spool/gammu/outbox/', sentPath: '/var/spool/gammu/sent/', errorPath: '/var/spool/gammu/error/' });
});

it('messages gammu-smsd moved to its error folder are marked failed; replies in its inbox acknowledge', async () => {
  const dir = tempDir('gammu-scan-');
  const ctx = laiChauContext();
  const outbox = new AlertOutbox(openDatabase(join(dir, 'alerts.sqlite')), { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900 });
  // Stands in for gammu-smsd-inject: answers with the outbox file name it would have written.
  const send = vi.fn<SmsTransport['send']>(async (sms) => ({ ok: true, providerId: gammuProviderId(outboxFileName(sms)) }));
  const transport: SmsTransport = { name: 'gammu', send };
  const service = new AlertService({ ctx, outbox, transport, log, segmentsPerSecond: 1000, burst: 100, concurrency: 4, retry: { baseMs: 5, capMs: 10 }, validityS: 900 });
  service.start();
  onTestFinished(() => service.stop());

  service.handleEvent({ eventId: 'gammu-unit-1', kind: 'fire-suspected', zoneId: 'tan-phong', nodeId: 'tan-phong-01', ts: new Date().toISOString(), detail: {} });
  await vi.waitFor(() => expect(outbox.countsByState().sent).toBeGreaterThan(0), { timeout: 5000, interval: 10 });
  const [row] = outbox.rows('sent');
  assert(row);
  const sms = send.mock.calls.map(([s]) => s).find((s) => s.outboxId === row.id);
  assert(sms);
  const fileName = outboxFileName(sms);
  const errorDir = join(dir, 'error');
  mkdirSync(errorDir);
  writeFileSync(join(errorDir, fileName), '[SMSBackup000]\n');
  writeFileSync(join(errorDir, 'not-a-message.txt'), '');
  expect(scanGammuErrors(errorDir, outbox, log, Date.now())).toBe(1);
  expect(outbox.rows('all').find((r) => r.id === row.id)?.state).toBe('failed');
  expect(existsSync(join(errorDir, 'processed', fileName)), 'moved aside, not read twice').toBe(true);
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
  expect(acked?.acks).toHaveLength(1);
});
