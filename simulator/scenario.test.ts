import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listBuiltinScenarios, loadScenario, parseDurationMs, parseScenarioText, ScenarioFileError, withStart } from './scenario.ts';

test('every built-in scenario parses, including the six the issue asks for', () => {
  const names = listBuiltinScenarios();
  for (const required of ['normal-day', 'dry-spell-30d', 'rain-reset', 'fire-san-thang', 'nuisance-smoke', 'node-faults']) assert.ok(names.includes(required), required);
  for (const name of names) assert.equal(loadScenario(name).name, name);
  const faults = loadScenario('node-faults');
  const kinds = new Set(faults.events.map((e) => e.type));
  for (const k of ['offline', 'power-off', 'stuck', 'battery-drain', 'clock-skew', 'duplicates', 'out-of-order']) assert.ok(kinds.has(k as never), k);
});

test('durations: 30d, 1h30m, 90s, and bare numbers as minutes', () => {
  assert.equal(parseDurationMs('30d'), 30 * 86_400_000);
  assert.equal(parseDurationMs('1h30m'), 90 * 60_000);
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs('soon'), undefined);
  assert.equal(parseDurationMs(''), undefined);
  const s = parseScenarioText('name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 45\n', 'x.yaml');
  assert.equal(s.duration, 45 * 60_000);
});

test('a bad scenario file names the file, line and field of each problem', () => {
  const text = [
    'name: broken',
    'start: 2026-03-01T00:00:00+07:00',
    'duration: 4 hours',
    'weather:',
    '  mode: monsoon',
    'events:',
    '  - type: fire',
    '    at: 30m',
    '    near: San Thang',
    '  - type: earthquake',
    '    at: 1h',
  ].join('\n');
  let error: unknown;
  try {
    parseScenarioText(text, 'broken.yaml');
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ScenarioFileError);
  const lines = error.problems.map((p) => `${p.line} ${p.path}`);
  assert.ok(lines.includes('3 duration'), lines.join(' | '));
  assert.ok(lines.includes('5 weather.mode'), lines.join(' | '));
  assert.ok(lines.includes('9 events[0].near'), lines.join(' | '));
  assert.ok(lines.some((l) => l.startsWith('10 events[1]')), lines.join(' | '));
  assert.match(error.message, /^broken\.yaml:3 duration: expected a duration/m);
});

test('withStart moves offsets and absolute event times together', () => {
  const s = parseScenarioText(
    'name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 2h\nevents:\n  - { type: burn, at: "2026-03-01T01:00:00+07:00", lat: 22.4, lon: 103.4 }\n  - { type: burn, at: 30m, lat: 22.4, lon: 103.4 }\n',
    'x.yaml',
  );
  const moved = withStart(s, s.start + 86_400_000);
  assert.deepEqual(moved.events[0]!.at, { absoluteMs: Date.parse('2026-03-02T01:00:00+07:00') });
  assert.deepEqual(moved.events[1]!.at, { offsetMs: 30 * 60_000 });
});
