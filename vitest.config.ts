// Two projects: `unit` (pure logic, no processes or sockets, seconds) and `integration` (real influxd,
// broker, Mosquitto, gammu-smsd and service processes, one file at a time so timings stay honest on
// two cores). `npm test` runs both, unit first; `npm run test:unit` the fast one.
import { defineConfig } from 'vitest/config';

const INTEGRATION = ['test/integration/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['node_modules/**', 'data/**', '.tmp/**', ...INTEGRATION],
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
    ],
    coverage: {
      provider: 'v8',
      include: ['bin/**', 'cli/**', 'contracts/**', 'platform/**', 'broker/**', 'ingest/**', 'rules/**', 'alerts/**', 'simulator/**', 'dashboards/**'],
      exclude: ['**/*.test.ts', 'dashboards/generated/**'],
      reporter: ['text-summary', 'text'],
    },
  },
});
