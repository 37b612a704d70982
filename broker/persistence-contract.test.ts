// aedes-persistence's own contract (`aedes-persistence/abstract.js`, the suite every aedes storage
// backend runs: aedes-persistence-level, -redis, -mongodb) against our stores. The suite is written
// for node:test; test/support/persistence-contract.ts runs it under vitest.
import { afterAll, describe } from 'vitest';
import { join } from 'node:path';
import { Level } from 'level';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { SessionStore } from './session-store.ts';
import { tempDataDir } from '../test/harness/services.ts';
import { runPersistenceContract } from '../test/support/persistence-contract.ts';

function runContract(makeStore: (db: Level<string, Buffer>) => unknown) {
  const data = tempDataDir('persistence-contract');
  afterAll(() => data.remove());
  let n = 0;
  runPersistenceContract(import.meta.url, async () => {
    const db = new Level<string, Buffer>(join(data.dir, String(n++)), { valueEncoding: 'buffer' });
    await db.open();
    return makeStore(db);
  });
}

const noDrop = () => undefined;

describe('SessionStore (packet ids in memory)', () => runContract((db) => new SessionStore(db, { queueLimit: 100_000, onDrop: noDrop })));
describe('SessionStore (packet ids on disk)', () => runContract((db) => new SessionStore(db, { queueLimit: 100_000, onDrop: noDrop, inflightInMemory: false })));
describe('BoundedLevelPersistence', () => runContract((db) => new BoundedLevelPersistence(db, 100_000, noDrop)));
