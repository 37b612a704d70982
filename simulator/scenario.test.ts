
import { assert, expect, it } from 'vitest';
import { listBuiltinScenarios, loadScenario, parseDurationMs, parseScenarioText, ScenarioFileError, withStart } from './scenario.ts';

it('every built-in scenario parses, including the six the issue asks for', () => {
  const names = listBuiltinScenarios();
  for (const required of ['normal-day', 'dry-spell-30d', 'rain-reset', 'fire-san-thang', 'nuisance-smoke', 'node-faults']) expect(names, required).toContain(required);
  for (const name of names) expect(loadScenario(name).name).toBe(name);
  const faults = loadScenario('node-faults');
  const kinds = new Set(faults.events.map((e) => e.type));
  for (const k of ['offline', 'power-off', 'stuck', 'battery-drain', 'clock-skew', 'duplicates', 'out-of-order']) expect(kinds.has(k as never), k).toBe(true);
});

it('durations: 30d, 1h30m, 90s, and bare numbers as minutes', () => {
  expect(parseDurationMs('30d')).toBe(30 * 86_400_000);
  expect(parseDurationMs('1h30m')).toBe(90 * 60_000);
  expect(parseDurationMs('90s')).toBe(90_000);
  expect(parseDurationMs('soon')).toBeUndefined();
  expect(parseDurationMs('')).toBeUndefined();
  const s = parseScenarioText('name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 45\n', 'x.yaml');
  expect(s.duration).toBe(45 * 60_000);
});

it('a bad scenario file names the file, line and field of each problem', () => {
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
  assert(error instanceof ScenarioFileError);
  const lines = error.problems.map((p) => `${p.line} ${p.path}`);
  expect(lines, lines.join(' | ')).toContain('3 duration');
  expect(lines, lines.join(' | ')).toContain('5 weather.mode');
  expect(lines, lines.join(' | ')).toContain('9 events[0].near');
  expect(lines.some((l) => l.startsWith('10 events[1]')), lines.join(' | ')).toBe(true);
  expect(error.message).toMatch(/^broken\.yaml:3 duration: expected a duration/m);
});

it('withStart moves offsets and absolute event times together', () => {
  const s = parseScenarioText(
    'name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 2h\nevents:\n  - { type: burn, at: "2026-03-01T01:00:00+07:00", lat: 22.4, lon: 103.4 }\n  - { type: burn, at: 30m, lat: 22.4, lon: 103.4 }\n',
    'x.yaml',
  );
  const moved = withStart(s, s.start + 86_400_000);
  expect(moved.events[0]!.at).toStrictEqual({ absoluteMs: Date.parse('2026-03-02T01:00:00+07:00') });
  expect(moved.events[1]!.at).toStrictEqual({ offsetMs: 30 * 60_000 });
});
