// Runs aedes-persistence's own contract suite (`aedes-persistence/abstract.js`) under vitest. The suite
// is written for node:test (`test(name, async (t) => …)` with t.plan, t.assert, t.diagnostic); each of
// its tests becomes a vitest test, and t.plan's count is checked as node:test would check it.
import assert from 'node:assert';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';

type ContractContext = {
  plan(count: number): void;
  diagnostic(message: string): void;
  assert: Pick<typeof assert, 'deepEqual' | 'equal' | 'notEqual' | 'ok'>;
};
type ContractOptions = {
  test: (name: string, body: (t: ContractContext) => Promise<void>) => void;
  persistence: () => Promise<unknown>;
  testAsync: boolean;
};

/**
 * The suite, taken from the copy of aedes-persistence that `resolveFrom` (a module path) would load:
 * a backend is tested against the release it is built on.
 */
export function runPersistenceContract(resolveFrom: string, persistence: () => Promise<unknown>): void {
  const abstractPersistence = createRequire(resolveFrom)('aedes-persistence/abstract.js') as (opts: ContractOptions) => void;
  abstractPersistence({
    testAsync: true,
    persistence,
    test: (name, body) =>
      it(name, async () => {
        let planned: number | undefined;
        let made = 0;
        const counted = <A extends unknown[]>(check: (...args: A) => void) => (...args: A) => {
          made += 1;
          check(...args);
        };
        await body({
          plan: (count) => (planned = count),
          diagnostic: () => undefined,
          assert: { deepEqual: counted(assert.deepEqual), equal: counted(assert.equal), notEqual: counted(assert.notEqual), ok: counted(assert.ok) },
        });
        if (planned !== undefined) expect(made, 'assertions made vs t.plan').toBe(planned);
      }),
  });
}
