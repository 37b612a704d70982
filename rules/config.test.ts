
import { expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULES_CONFIG, loadRulesConfig, rulesConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'rules-config-'));

it('a rules config file overrides any subset; the rest keeps its defaults', () => {
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, 'detection:\n  confirmAfterS: 600\n  smokeDirection: down\nhealth:\n  lowBatteryV: 11.8\n');
  const cfg = loadRulesConfig(file);
  expect(cfg.detection.confirmAfterS).toBe(600);
  expect(cfg.detection.smokeDirection).toBe('down');
  expect(cfg.detection.neighbourDistanceM).toBe(DEFAULT_RULES_CONFIG.detection.neighbourDistanceM);
  expect(cfg.health.lowBatteryV).toBe(11.8);
  expect(cfg.danger.officialMinute).toBe(780);
  expect(cfg.utcOffsetMinutes).toBe(420);
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
