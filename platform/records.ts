// Ids come from outside (an API body, a link, a replayed state file); a plain object indexed by
// one answers "constructor" or "__proto__" with Object.prototype's members. Look ids up with these.

/** `record[key]` only when `key` is the record's own property. */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
