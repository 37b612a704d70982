// Properties of the site-file check (checkSiteText → parseYamlWithSchema): whatever text an engineer
// saves, the check answers (it never throws), and a refusal points at lines of that text.
import { readFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { checkSiteText } from './site-file.ts';

const SEED = 0x517e;
const SITE_TEXT = readFileSync(new URL('../config/lai-chau.site.yaml', import.meta.url), 'utf8');
const SITE_LINES = SITE_TEXT.split('\n');

function expectAnswer(text: string): void {
  let result: ReturnType<typeof checkSiteText>;
  try {
    result = checkSiteText(text, 'site.yaml');
  } catch (err) {
    throw new Error(`checkSiteText threw ${String(err)} on ${JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}…` : text)}`);
  }
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const p of result.problems) {
    expect(p.file).toBe('site.yaml');
    expect(Number.isInteger(p.line), p.message).toBe(true);
    expect(p.line, p.message).toBeGreaterThanOrEqual(1);
    expect(p.line, p.message).toBeLessThanOrEqual(lines);
    expect(p.message.trim()).not.toBe('');
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters YAML gives a meaning to, and a few others. */
const yamlChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(':', '-', ' ', '  ', '\n', '\t', '#', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '?', '<<', '---', '...', '\\') },
  { weight: 3, arbitrary: fc.constantFrom('a', 'id', 'x1', '0', '1.5', 'true', 'null', '~', 'Thàng', '+8400') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }) },
);
const yamlish = fc.array(yamlChar, { maxLength: 80 }).map((cs) => cs.join(''));

type Mutation = { op: 'delete' | 'duplicate' | 'swap'; at: number; other: number } | { op: 'insert'; at: number; other: number; text: string };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom('delete' as const, 'duplicate' as const, 'swap' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), other: fc.nat(), text: fc.array(yamlChar, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('')) }),
);

/** Applies line mutations; an insert puts characters at a column of a line. */
function mutate(lines: readonly string[], mutations: readonly Mutation[]): string {
  const out = [...lines];
  for (const m of mutations) {
    const i = m.at % out.length;
    const j = m.other % out.length;
    if (m.op === 'delete' && out.length > 1) out.splice(i, 1);
    else if (m.op === 'duplicate') out.splice(i, 0, out[i]!);
    else if (m.op === 'swap') [out[i], out[j]] = [out[j]!, out[i]!];
    else if (m.op === 'insert') {
      const line = out[i]!;
      const col = m.other % (line.length + 1);
      out[i] = line.slice(0, col) + m.text + line.slice(col);
    }
  }
  return out.join('\n');
}

/** A stretch of the real file: parsing all 1,000 lines costs 35–90 ms a run, a stretch a few. */
const excerpt = fc.tuple(fc.nat(SITE_LINES.length - 1), fc.integer({ min: 1, max: 60 })).map(([from, n]) => SITE_LINES.slice(from, from + n));

describe('checkSiteText never throws and points at lines', () => {
  it.prop([fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), yamlish)], { seed: SEED, numRuns: 2000 })('on arbitrary text', (text) => {
    expectAnswer(text);
  });

  it.prop([excerpt, fc.array(mutation, { maxLength: 6 })], { seed: SEED + 1, numRuns: 300 })(
    'on mutated stretches of config/lai-chau.site.yaml (lines deleted, duplicated, swapped, characters inserted)',
    (lines, mutations) => {
      expectAnswer(mutate(lines, mutations));
    },
  );

  it.prop([fc.array(mutation, { minLength: 1, maxLength: 4 })], { seed: SEED + 2, numRuns: 10 })('on mutated copies of the whole config/lai-chau.site.yaml', (mutations) => {
    expectAnswer(mutate(SITE_LINES, mutations));
  });

  it.prop([fc.array(fc.constantFrom('a: &a [x, y]', 'b: *a', 'c: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: *missing', '<<: *a', 'f: !!str 1', '%YAML 1.1', '---'), { minLength: 1, maxLength: 8 })], {
    seed: SEED + 3,
    numRuns: 300,
  })('on anchors, aliases, merge keys and directives', (lines) => {
    expectAnswer(lines.join('\n'));
  });
});

describe('checkSiteText on the real file', () => {
  it('accepts config/lai-chau.site.yaml as it is', () => {
    expect(checkSiteText(SITE_TEXT, 'site.yaml').ok).toBe(true);
  });
});
