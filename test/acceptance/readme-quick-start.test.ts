// Every command the README's quick start shows is run, as written, by an acceptance test: a demo
// shown there can never silently break again. (Fast: it reads files.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { quickStartCommands, ROOT } from './harness.ts';

/** Quick-start command → the acceptance test file that runs it through readmeCommand(). */
const COVERED: Record<string, string> = {
  'npm ci && npm start': 'newcomer.test.ts',
  'npm start -- --scenario fire-san-thang --speed 60': 'fire-demo.test.ts',
  'npm start -- --no-simulation': 'into-running-pipeline.test.ts',
  'npx fire-ews simulate --scenario fire-san-thang --speed 60': 'into-running-pipeline.test.ts',
  'npx fire-ews simulate --scenario fire-san-thang --out fire.ndjson': 'into-running-pipeline.test.ts',
  'npx fire-ews replay fire.ndjson --shift-to-now --speed 60': 'into-running-pipeline.test.ts',
};
/** Commands no test runs itself, and why. */
const RUN_ELSEWHERE: Record<string, string> = {
  'npm test': 'CI runs it as written (.ci/run); it runs these tests',
};

it('every command of the README\'s quick start is run as written by an acceptance test', () => {
  const shown = quickStartCommands();
  expect(shown.length).toBeGreaterThan(0);
  expect([...shown].sort()).toStrictEqual([...Object.keys(COVERED), ...Object.keys(RUN_ELSEWHERE)].sort());
  for (const [command, file] of Object.entries(COVERED)) {
    const source = readFileSync(join(ROOT, 'test/acceptance', file), 'utf8');
    expect(source, `${file} runs \`${command}\``).toContain(`readmeCommand('${command}')`);
  }
  expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^EWS_REQUIRE_INTEGRATION=1 npm test$/m);
});
