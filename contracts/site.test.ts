import { assert, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkSiteText, loadSiteFile } from '../platform/site-file.ts';
import { formatProblem } from './yaml-file.ts';
import { SAMPLE_PHONE_PREFIX } from './site.ts';

const SITE_FILE = new URL('../config/lai-chau.site.yaml', import.meta.url).pathname;
const siteText = readFileSync(SITE_FILE, 'utf8');

it('the shipped Lai Châu site holds the city facts', () => {
  const site = loadSiteFile(SITE_FILE);
  expect(site.zones).toHaveLength(7);
  expect(site.zones.filter((z) => z.hotspot).map((z) => z.name).sort()).toStrictEqual(['Nậm Loỏng', 'Quyết Thắng', 'San Thàng'].sort());
  expect(site.nodes.length, `${site.nodes.length} nodes`).toBeGreaterThanOrEqual(30);
  expect(site.teams).toHaveLength(24);
  expect(site.teams.reduce((n, t) => n + t.members.length, 0)).toBe(302);
  expect(site.boards.city.members).toHaveLength(23);
  expect(site.boards.communes).toHaveLength(7);
  expect(site.boards.communes.reduce((n, b) => n + b.members.length, 0)).toBe(192);
  expect(site.zones.filter((zone) => !site.teams.some((t) => t.zones.includes(zone.id))).map((z) => z.id), 'zones no team covers').toStrictEqual([]);
  expect(site.zones.filter((zone) => !site.nodes.some((n) => n.zone === zone.id)).map((z) => z.id), 'zones without a node').toStrictEqual([]);
  // Sample roster: no phone can reach a real subscriber.
  const phones = [...site.teams.flatMap((t) => t.members), ...site.boards.city.members, ...site.boards.communes.flatMap((b) => b.members)].map((m) => m.phone);
  expect(phones.filter((p) => !p.startsWith(SAMPLE_PHONE_PREFIX))).toStrictEqual([]);
  expect(new Set(phones).size).toBe(phones.length);
});

function lineOf(text: string, needle: string, occurrence = 1): number {
  let idx = -1;
  for (let i = 0; i < occurrence; i++) idx = text.indexOf(needle, idx + 1);
  expect(idx, `needle ${needle}`).toBeGreaterThanOrEqual(0);
  return text.slice(0, idx).split('\n').length;
}

describe('problems are reported with file and line', () => {
  it('site errors name the file, line and field', () => {
    const broken = siteText.replace('    lat: 22.40734', '    lat: 122.40734').replace('    elevationM: 977', '    elevationM: high');
    const result = checkSiteText(broken, 'site.yaml');
    expect(result.ok).toBe(false);
    assert(!result.ok);
    const messages = result.problems.map(formatProblem);
    expect(messages).toStrictEqual([
      `site.yaml:${lineOf(broken, 'lat: 122.40734')} nodes[0].lat: expected number ≤ 90`,
      `site.yaml:${lineOf(broken, 'elevationM: high')} nodes[1].elevationM: expected number, got string "high"`,
    ]);
  });

  it('cross-references are checked: unknown zone, leader not a member, real-looking phone in a sample roster', () => {
    const broken = siteText
      .replace('    zone: san-thang\n', '    zone: san-thanh\n')
      .replace('leader: team-qth-1-m01', 'leader: team-qth-9-m01')
      .replace('"+84001000002"', '"+84912345678"');
    const result = checkSiteText(broken, 'site.yaml');
    expect(result.ok).toBe(false);
    assert(!result.ok);
    const text = result.problems.map(formatProblem).join('\n');
    expect(text).toMatch(new RegExp(`site.yaml:${lineOf(broken, 'zone: san-thanh')} nodes\\[\\d+\\]\\.zone: unknown zone san-thanh`));
    expect(text).toMatch(new RegExp(`site.yaml:${lineOf(broken, 'leader: team-qth-9-m01')} teams\\[0\\]\\.leader: leader team-qth-9-m01 is not a member`));
    expect(text).toMatch(/teams\[0\]\.members\[1\]\.phone: sample roster phones must start with \+8400/);
  });

  it('the drill schedule: a cron node-cron refuses, a sixth field and an unknown zone are named with their line', () => {
    const good = '  - { zone: san-thang, kind: fire-confirmed, cron: "30 8 1-7 1-4,11,12 1", depth: alert, dryRun: false }';
    expect(siteText).toContain(good);
    const broken = siteText.replace(good, `${good.replace('30 8 1-7', '30 24 1-7')}\n${good.replace('1-4,11,12 1"', '1-4,11,12 1 *"')}\n${good.replace('san-thang', 'san-thanh')}`);
    const result = checkSiteText(broken, 'site.yaml');
    assert(!result.ok);
    const line = lineOf(broken, '30 24 1-7');
    expect(result.problems.map(formatProblem)).toStrictEqual([
      expect.stringMatching(new RegExp(`^site\\.yaml:${line} drills\\[0\\]\\.cron: not a node-cron expression: hour 24`)),
      `site.yaml:${line + 1} drills[1].cron: cron must have 5 fields (minute hour day-of-month month day-of-week), got 6: "30 8 1-7 1-4,11,12 1 *"`,
      `site.yaml:${line + 2} drills[2].zone: unknown zone san-thanh`,
    ]);
  });

  it('a sensor drill in the schedule: its node must be a sensor node of its zone; speed and node only for depth: sensor', () => {
    const good = '  - { zone: san-thang, kind: fire-confirmed, cron: "30 8 1-7 1-4,11,12 1", depth: alert, dryRun: false }';
    const sensor = '  - { zone: nam-loong, cron: "30 9 1-7 1-4,11,12 1", depth: sensor, speed: 60, node: nam-loong-03 }';
    expect(checkSiteText(siteText.replace(good, `${good}\n${sensor}`), 'site.yaml').ok).toBe(true);
    const broken = siteText.replace(good, `${good}\n${sensor.replace('node: nam-loong-03', 'node: san-thang-07')}\n${good.replace('dryRun: false', 'dryRun: false, speed: 60')}`);
    const result = checkSiteText(broken, 'site.yaml');
    assert(!result.ok);
    const line = lineOf(broken, 'node: san-thang-07');
    expect(result.problems.map(formatProblem)).toStrictEqual([
      `site.yaml:${line} drills[1].node: node san-thang-07 is not in zone nam-loong`,
      `site.yaml:${line + 1} drills[2].speed: speed is for depth: sensor only (an alert drill has no plume)`,
    ]);
  });

  it('YAML syntax errors and unknown fields are reported with their line', () => {
    const syntax = checkSiteText('site:\n  id: x\n  name: [unclosed\n', 'bad.yaml');
    expect(syntax.ok).toBe(false);
    assert(!syntax.ok);
    expect(formatProblem(syntax.problems[0]!)).toMatch(/^bad\.yaml:\d+ YAML syntax/);
    const unknown = checkSiteText(siteText.replace('    hotspot: true\n', '    hotspot: true\n    hotpsot: true\n'), 'site.yaml');
    expect(unknown.ok).toBe(false);
    assert(!unknown.ok);
    expect(formatProblem(unknown.problems[0]!)).toMatch(/site\.yaml:\d+ zones\[0\]: unknown field hotpsot/);
  });

  it('one syntax error is one problem at its own line, not a problem on every line below it', () => {
    const lines = siteText.split('\n');
    const at = lines.findIndex((l) => l.startsWith('site:'));
    lines[at] = 'site: : : [';
    const result = checkSiteText(lines.join('\n'), 'site.yaml');
    assert(!result.ok);
    expect(result.problems.map(formatProblem)).toStrictEqual([expect.stringMatching(new RegExp(`^site\\.yaml:${at + 1} YAML syntax: `))]);
  });
});

describe('optional zone boundaries (GeoJSON)', () => {
  const withBoundary = (geometry: string) => siteText.replace('    lon: 103.44\n', `    lon: 103.44\n    boundary: ${geometry}\n`);

  it('a Polygon or MultiPolygon in [lon, lat] is accepted', () => {
    const ring = '[[103.43, 22.40], [103.45, 22.40], [103.45, 22.41], [103.43, 22.40]]';
    for (const g of [`{ type: Polygon, coordinates: [${ring}] }`, `{ type: MultiPolygon, coordinates: [[${ring}]] }`]) {
      const r = checkSiteText(withBoundary(g), 'site.yaml');
      assert(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
      expect(r.value.zones[0]?.boundary?.type).toMatch(/Polygon/);
    }
  });

  it.each([
    ['an open ring', '{ type: Polygon, coordinates: [[[103.43, 22.40], [103.45, 22.40], [103.45, 22.41], [103.44, 22.41]]] }', /zones\[0\]\.boundary\.coordinates\[0\]: a ring must end where it starts/],
    ['latitude and longitude swapped', '{ type: Polygon, coordinates: [[[22.40, 103.43], [22.40, 103.45], [22.41, 103.45], [22.40, 103.43]]] }', /zones\[0\]\.boundary\.coordinates\[0\]\[0\]\[1\]: expected number ≤ 90/],
    ['a Point', '{ type: Point, coordinates: [103.43, 22.40] }', /zones\[0\]\.boundary\.type/],
  ])('%s is refused with its line', (_what, geometry, message) => {
    const text = withBoundary(geometry);
    const r = checkSiteText(text, 'site.yaml');
    assert(!r.ok, 'refused');
    const problem = r.problems.map(formatProblem).join('\n');
    expect(problem).toMatch(message);
    expect(problem).toMatch(new RegExp(`^site\\.yaml:${lineOf(text, 'boundary:')} `));
  });
});
