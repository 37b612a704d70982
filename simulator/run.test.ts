// Placing an accelerated run moves only its timestamps: the scenario plays as written.
import { expect, it } from 'vitest';
import { loadScenario } from './scenario.ts';
import { scenarioNodes, simulate } from './engine.ts';
import { shiftRun } from './run.ts';
import { sampleSite } from '../test/support/simulator-fixtures.ts';

it('shiftRun moves every delivery and observation time by the same amount and changes no value', () => {
  const scenario = { ...loadScenario('fire-san-thang'), duration: 90 * 60_000 };
  const nodes = scenarioNodes(scenario, sampleSite());
  const original = [...simulate(scenario, nodes).messages];
  const delta = Date.parse('2026-12-04T13:47:34.356Z') - scenario.start;
  const shifted = shiftRun(simulate(scenario, nodes), delta);
  const moved = [...shifted.messages];
  expect(moved).toHaveLength(original.length);
  expect(shifted.startMs).toBe(scenario.start + delta);
  moved.forEach((m, i) => {
    const o = original[i]!;
    expect(m.atMs - o.atMs).toBe(delta);
    if (m.kind === 'reading' && o.kind === 'reading') {
      expect(Date.parse(m.reading.ts) - Date.parse(o.reading.ts)).toBe(delta);
      expect({ ...m.reading, ts: o.reading.ts }).toStrictEqual(o.reading);
    }
  });
  expect(shiftRun(simulate(scenario, nodes), 0).startMs).toBe(scenario.start);
});
