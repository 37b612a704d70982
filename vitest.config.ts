// Four projects: `unit` (pure logic, no processes or sockets, seconds), `integration` (real influxd,
// broker, Mosquitto, gammu-smsd and service processes, one file at a time so timings stay honest on
// two cores), `hostile` (attacks on those real processes) and `acceptance` (the README's demos run as
// written, minutes). `npm test` runs all four in that order; `npm run test:unit` the fast one.
import { defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts'];
const HOSTILE = ['test/hostile/**/*.test.ts'];
const ACCEPTANCE = ['test/acceptance/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'data/**', '.tmp/**', ...INTEGRATION, ...HOSTILE, ...ACCEPTANCE],
          pool: 'threads',
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: INTEGRATION,
          // Services are child processes; forks keep their signals and exit codes apart from the runner.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Attacks on the real processes (a stolen node key, oversized and slow clients, fuzzed
        // payloads, the broker killed under load); one file at a time, like integration.
        test: {
          name: 'hostile',
          include: HOSTILE,
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          // The README's demos run as written (README "Acceptance tests"): minutes each, one file at a time.
          name: 'acceptance',
          include: ACCEPTANCE,
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['bin/**', 'cli/**', 'contracts/**', 'platform/**', 'broker/**', 'ingest/**', 'rules/**', 'alerts/**', 'simulator/**', 'dashboards/**', 'board/**'],
      // board/client runs in the browser (the browser tests), never in the test process.
      exclude: ['**/*.test.ts', '**/*.md', '**/*.yaml', '**/testdata/**', 'dashboards/generated/**', 'board/client/**'],
      reporter: ['text-summary', 'text'],
      // The level the suite reached on 2026-12-04 (lowered the same day where the drills, the alerts
      // refusals, the port probes and the run clock added code that runs only in child processes),
      // rounded down a point (branch counts move a little
      // with timing), so coverage cannot fall silently. Raise them when it rises.
      thresholds: {
        statements: 79,
        branches: 71,
        functions: 80,
        lines: 82,
        'alerts/**': { statements: 87, branches: 78, functions: 88, lines: 90 },
        // board/ joined on 2026-12-04 (main.ts, cli.ts, bundle.ts and pdf.ts run only in child processes).
        'board/**': { statements: 76, branches: 66, functions: 77, lines: 79 },
        // broker/ and simulator/ lowered on 2026-12-05: the Redis cluster wiring (broker/cluster.ts) and the
        // sensor-drill plume player (simulator/drill-plume.ts) run only in child processes.
        'broker/**': { statements: 84, branches: 76, functions: 83, lines: 86 },
        'contracts/**': { statements: 91, branches: 85, functions: 96, lines: 96 },
        'dashboards/**': { statements: 88, branches: 75, functions: 93, lines: 94 },
        'ingest/**': { statements: 78, branches: 70, functions: 67, lines: 80 },
        'platform/**': { statements: 77, branches: 68, functions: 79, lines: 80 },
        'rules/**': { statements: 81, branches: 75, functions: 80, lines: 83 },
        'simulator/**': { statements: 69, branches: 56, functions: 71, lines: 72 },
      },
    },
  },
});
