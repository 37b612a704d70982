import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkSiteText, loadSiteFile } from '../platform/site-file.ts';
import { formatProblem } from './yaml-file.ts';
import { SAMPLE_PHONE_PREFIX } from './site.ts';

const SITE_FILE = new URL('../config/lai-chau.site.yaml', import.meta.url).pathname;
const siteText = readFileSync(SITE_FILE, 'utf8');

test('the shipped Lai Châu site holds the city facts', () => {
  const site = loadSiteFile(SITE_FILE);
  assert.equal(site.zones.length, 7);
  assert.deepEqual(site.zones.filter((z) => z.hotspot).map((z) => z.name).sort(), ['Nậm Loỏng', 'Quyết Thắng', 'San Thàng'].sort());
  assert.ok(site.nodes.length >= 30, `${site.nodes.length} nodes`);
  assert.equal(site.teams.length, 24);
  assert.equal(site.teams.reduce((n, t) => n + t.members.length, 0), 302);
  assert.equal(site.boards.city.members.length, 23);
  assert.equal(site.boards.communes.length, 7);
  assert.equal(site.boards.communes.reduce((n, b) => n + b.members.length, 0), 192);
  for (const zone of site.zones) {
    assert.ok(site.teams.some((t) => t.zones.includes(zone.id)), `a team covers ${zone.id}`);
    assert.ok(site.nodes.some((n) => n.zone === zone.id), `a node in ${zone.id}`);
  }
  // Sample roster: no phone can reach a real subscriber.
  const phones = [...site.teams.flatMap((t) => t.members), ...site.boards.city.members, ...site.boards.communes.flatMap((b) => b.members)].map((m) => m.phone);
  assert.ok(phones.every((p) => p.startsWith(SAMPLE_PHONE_PREFIX)));
  assert.equal(new Set(phones).size, phones.length);
});

function lineOf(text: string, needle: string, occurrence = 1): number {
  let idx = -1;
  for (let i = 0; i < occurrence; i++) idx = text.indexOf(needle, idx + 1);
  assert.ok(idx >= 0, `needle ${needle}`);
  return text.slice(0, idx).split('\n').length;
}

test('site errors name the file, line and field', () => {
  const broken = siteText.replace('    lat: 22.40734', '    lat: 122.40734').replace('    elevationM: 977', '    elevationM: high');
  const result = checkSiteText(broken, 'site.yaml');
  assert.equal(result.ok, false);
  if (result.ok) return;
  const messages = result.problems.map(formatProblem);
  assert.deepEqual(messages, [
    `site.yaml:${lineOf(broken, 'lat: 122.40734')} nodes[0].lat: expected number ≤ 90`,
    `site.yaml:${lineOf(broken, 'elevationM: high')} nodes[1].elevationM: expected number, got string "high"`,
  ]);
});

test('cross-references are checked: unknown zone, leader not a member, real-looking phone in a sample roster', () => {
  const broken = siteText
    .replace('    zone: san-thang\n', '    zone: san-thanh\n')
    .replace('leader: team-qth-1-m01', 'leader: team-qth-9-m01')
    .replace('"+84001000002"', '"+84912345678"');
  const result = checkSiteText(broken, 'site.yaml');
  assert.equal(result.ok, false);
  if (result.ok) return;
  const text = result.problems.map(formatProblem).join('\n');
  assert.match(text, new RegExp(`site.yaml:${lineOf(broken, 'zone: san-thanh')} nodes\\[\\d+\\]\\.zone: unknown zone san-thanh`));
  assert.match(text, new RegExp(`site.yaml:${lineOf(broken, 'leader: team-qth-9-m01')} teams\\[0\\]\\.leader: leader team-qth-9-m01 is not a member`));
  assert.match(text, /teams\[0\]\.members\[1\]\.phone: sample roster phones must start with \+8400/);
});

test('YAML syntax errors and unknown fields are reported with their line', () => {
  const syntax = checkSiteText('site:\n  id: x\n  name: [unclosed\n', 'bad.yaml');
  assert.equal(syntax.ok, false);
  if (!syntax.ok) assert.match(formatProblem(syntax.problems[0]!), /^bad\.yaml:\d+ YAML syntax/);
  const unknown = checkSiteText(siteText.replace('    hotspot: true\n', '    hotspot: true\n    hotpsot: true\n'), 'site.yaml');
  assert.equal(unknown.ok, false);
  if (!unknown.ok) assert.match(formatProblem(unknown.problems[0]!), /site\.yaml:\d+ zones\[0\]: unknown field hotpsot/);
});
