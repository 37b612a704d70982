// JSON for the rules' saved states (engine, core, drill detections), with NaN and ±Infinity kept: the
// states use them as "none yet", and plain JSON would turn them into null.
export function stringifyState(state: unknown): string {
  return JSON.stringify(state, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `#${String(v)}` : v));
}

export function parseStateJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => (v === '#NaN' ? NaN : v === '#Infinity' ? Infinity : v === '#-Infinity' ? -Infinity : v));
}
