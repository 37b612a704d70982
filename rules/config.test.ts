import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULES_CONFIG, loadRulesConfig, rulesConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'rules-config-'));

test('a rules config file overrides any subset; the rest keeps its defaults', () => {
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, 'detection:\n  confirmAfterS: 600\n  smokeDirection: down\nhealth:\n  lowBatteryV: 11.8\n');
  const cfg = loadRulesConfig(file);
  assert.equal(cfg.detection.confirmAfterS, 600);
  assert.equal(cfg.detection.smokeDirection, 'down');
  assert.equal(cfg.detection.neighbourDistanceM, DEFAULT_RULES_CONFIG.detection.neighbourDistanceM);
  assert.equal(cfg.health.lowBatteryV, 11.8);
  assert.equal(cfg.danger.officialMinute, 780);
  assert.equal(cfg.utcOffsetMinutes, 420);
});

test('a bad rules config names the line and the field', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'detection:\n  confirmAfterS: 600\n  suspectWindw: 5\n');
  assert.throws(() => loadRulesConfig(file), /bad\.yaml:3 detection: unknown field suspectWindw/);
  writeFileSync(file, 'danger:\n  graceS: 60\n  windowMinutes: -3\n');
  assert.throws(() => loadRulesConfig(file), /bad\.yaml:3 danger\.windowMinutes: expected number ≥ 1/);
});

test('rulesConfig() merges per section', () => {
  assert.equal(rulesConfig({ danger: { windowMinutes: 30 } }).danger.graceS, 120);
});
