// The alerts section of the site file: schema, cross-checks against the roster (with the line of
// each problem), roster references, and the sample generator reproducing the committed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sitePolicy } from '../contracts/site.ts';
import { formatProblem } from '../contracts/yaml-file.ts';
import { checkSiteText } from '../platform/site-file.ts';
import { findRoute } from './policy.ts';
import { audienceMembers, buildRoster, resolveAudiences } from './routing.ts';
import { laiChauContext, SITE_FILE } from './test-fixtures.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const siteText = readFileSync(SITE_FILE, 'utf8');

function problems(text: string): string[] {
  const r = checkSiteText(text, 'site.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}

test('the committed site file carries the alerts section; timezone defaults to the site', () => {
  const { policy, roster } = laiChauContext();
  assert.equal(policy.brand, 'PCCR LAI CHAU');
  assert.equal(policy.timezone, roster.site.site.timezone);
  assert.equal(policy.routes.length, 5);
  assert.equal(findRoute(policy, 'fire-confirmed')?.escalation[0]?.to[0], 'rangers');
});

test('regenerating the sample site gives the committed file byte for byte', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-sample-site.ts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(out, siteText);
});

test('a site without an alerts section is valid for the other services but the alerts service refuses it', () => {
  const cut = siteText.slice(0, siteText.indexOf('\n# Alerts:'));
  const r = checkSiteText(cut, 'site.yaml');
  assert.ok(r.ok);
  assert.throws(() => sitePolicy(r.value), /has no alerts section/);
});

test('teams, boards and members named in the alerts section must exist on the roster (file:line errors)', () => {
  const text = siteText
    .replace('      to: [ team-members, commune-board, city-board ]', '      to: [ team-members, team:team-xyz-9, board:board-nowhere, member:nobody-m01 ]')
    .replace('        - { afterS: 900, to: [ rangers ] }', '        - { afterS: 900, to: [ rangers, member:rangers-m02 ] }');
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('team:team-xyz-9')) + 1;
  assert.deepEqual(problems(text), [
    `site.yaml:${line} alerts.routes[0].to[1]: unknown team team-xyz-9`,
    `site.yaml:${line} alerts.routes[0].to[2]: unknown board board-nowhere (the city board or a commune board id)`,
    `site.yaml:${line} alerts.routes[0].to[3]: unknown member nobody-m01`,
  ]);
});

test('zone audiences must name somebody: no rangers listed, a zone with nodes but no commune board', () => {
  const noRangers = siteText.replace(/^rangers:\n(?: {2}- .*\n)+/m, 'rangers: []\n');
  assert.deepEqual(
    problems(noRangers).map((p) => p.replace(/^site\.yaml:\d+ /, '')),
    ['alerts.routes[0].escalation[0].to[0]: rangers is named but the site lists no rangers', 'alerts.routes[2].to[3]: rangers is named but the site lists no rangers'],
  );
  const noBoard = siteText.replace('      zone: san-thang\n      members:', '      zone: nam-loong\n      members:');
  assert.ok(problems(noBoard).some((p) => /alerts\.routes\[0\]\.to\[1\]: commune-board: no commune board for san-thang/.test(p)), problems(noBoard).join('\n'));
  const badAudience = problems(siteText.replace('to: [ team-leaders ]', 'to: [ team-leader ]'));
  assert.equal(badAudience.length, 1);
  assert.match(badAudience[0] ?? '', /alerts\.routes\[1\]\.to\[0\]/);
});

test('team:, board: and member: references resolve to those people whatever the zone', () => {
  const { roster } = laiChauContext();
  assert.equal(audienceMembers(roster, 'team:team-sth-1', 'quyet-thang').length, 13);
  assert.equal(audienceMembers(roster, 'board:city-board', 'san-thang').length, 23);
  assert.equal(audienceMembers(roster, 'board:board-nlo', 'san-thang').length, roster.site.boards.communes.find((b) => b.id === 'board-nlo')?.members.length);
  assert.deepEqual(audienceMembers(roster, 'member:rangers-m02', 'san-thang').map((r) => r.id), ['rangers-m02']);
  // A union never lists a person twice.
  const union = resolveAudiences(buildRoster(roster.site), ['team-leaders', 'team:team-sth-1', 'member:team-sth-1-m01'], 'san-thang');
  assert.equal(union.length, new Set(union.map((r) => r.id)).size);
  assert.equal(union.length, 8 + 12);
});
