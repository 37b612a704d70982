// aedes-persistence's own contract (`aedes-persistence/abstract.js`, the suite every aedes storage
// backend runs: aedes-persistence-level, -redis, -mongodb) against our stores. The suite is written
// for node:test (`test(name, async (t) => …)` with t.plan, t.assert, t.diagnostic); the adapter
// below runs each of its tests as a vitest test and checks t.plan's count as node:test would.
import { afterAll, describe, expect, it } from 'vitest';
import assert from 'node:assert';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Level } from 'level';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { SessionStore } from './session-store.ts';
import { tempDataDir } from '../test/harness/services.ts';

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
const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: ContractOptions) => void;

function runContract(makeStore: (db: Level<string, Buffer>) => unknown) {
  const data = tempDataDir('persistence-contract');
  afterAll(() => data.remove());
  let n = 0;
  abstractPersistence({
    testAsync: true,
    persistence: async () => {
      const db = new Level<string, Buffer>(join(data.dir, String(n++)), { valueEncoding: 'buffer' });
      await db.open();
      return makeStore(db);
    },
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

const noDrop = () => undefined;

describe('SessionStore (packet ids in memory)', () => runContract((db) => new SessionStore(db, { queueLimit: 100_000, onDrop: noDrop })));
describe('SessionStore (packet ids on disk)', () => runContract((db) => new SessionStore(db, { queueLimit: 100_000, onDrop: noDrop, inflightInMemory: false })));
describe('BoundedLevelPersistence', () => runContract((db) => new BoundedLevelPersistence(db, 100_000, noDrop)));
