import { expect, it } from 'vitest';
import { ownValue } from './records.ts';

it('ownValue answers only own properties, never Object.prototype members', () => {
  const record: Record<string, number> = { a: 1 };
  expect(ownValue(record, 'a')).toBe(1);
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'b']) expect(ownValue(record, key), key).toBeUndefined();
});
