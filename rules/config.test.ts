import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULES_CONFIG, loadRulesConfig, rulesConfig } from './config.ts';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rules-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a rules config file overrides any subset; the rest keeps its defaults', () => {
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, 'detection:\n  confirmAfterS: 600\n  smokeDirection: down\nhealth:\n  lowBatteryV: 11.8\n');
  const cfg = loadRulesConfig(file);
  expect(cfg).toMatchObject({
    detection: { confirmAfterS: 600, smokeDirection: 'down', neighbourDistanceM: DEFAULT_RULES_CONFIG.detection.neighbourDistanceM },
    health: { lowBatteryV: 11.8 },
    danger: { officialMinute: 780 },
    utcOffsetMinutes: 420,
  });
});

it('a bad rules config names the line and the field', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'detection:\n  confirmAfterS: 600\n  suspectWindw: 5\n');
  expect(() => loadRulesConfig(file)).toThrow(/bad\.yaml:3 detection: unknown field suspectWindw/);
  writeFileSync(file, 'danger:\n  graceS: 60\n  windowMinutes: -3\n');
  expect(() => loadRulesConfig(file)).toThrow(/bad\.yaml:3 danger\.windowMinutes: expected number ≥ 1/);
});

it('rulesConfig() merges per section', () => {
  expect(rulesConfig({ danger: { windowMinutes: 30 } }).danger.graceS).toBe(120);
});
