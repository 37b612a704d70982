import { assert, describe, expect, it } from 'vitest';
import { listBuiltinScenarios, loadScenario, parseDurationMs, parseScenarioText, ScenarioFileError, withStart } from './scenario.ts';

describe('every built-in scenario parses, including the six the issue asks for', () => {
  it('the six the issue asks for are built in', () => {
    expect(listBuiltinScenarios()).toEqual(expect.arrayContaining(['normal-day', 'dry-spell-30d', 'rain-reset', 'fire-san-thang', 'nuisance-smoke', 'node-faults']));
  });

  it.each(listBuiltinScenarios())('%s parses', (name) => {
    expect(loadScenario(name).name).toBe(name);
  });

  it('node-faults has every kind of fault', () => {
    const kinds = loadScenario('node-faults').events.map((e) => e.type);
    expect(kinds).toEqual(expect.arrayContaining(['offline', 'power-off', 'stuck', 'battery-drain', 'clock-skew', 'duplicates', 'out-of-order']));
  });
});

describe('durations: 30d, 1h30m, 90s, and bare numbers as minutes', () => {
  it.each([
    ['30d', 30 * 86_400_000],
    ['1h30m', 90 * 60_000],
    ['90s', 90_000],
  ])('%j is %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['soon', ''])('%j is not a duration', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it('a bare number in a scenario file is minutes', () => {
    const s = parseScenarioText('name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 45\n', 'x.yaml');
    expect(s.duration).toBe(45 * 60_000);
  });
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
  expect(lines).toContain('3 duration');
  expect(lines).toContain('5 weather.mode');
  expect(lines).toContain('9 events[0].near');
  expect(lines).toContainEqual(expect.stringMatching(/^10 events\[1\]/));
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
