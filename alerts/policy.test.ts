// The alerts section of the site file: schema, cross-checks against the roster (with the line of
// each problem), and roster references. (The sample generator is checked in test/integration/sample-site.test.ts.)
import { assert, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { sitePolicy } from '../contracts/site.ts';
import { formatProblem } from '../contracts/yaml-file.ts';
import { checkSiteText } from '../platform/site-file.ts';
import { findRoute } from './policy.ts';
import { audienceMembers, buildRoster, resolveAudiences } from './routing.ts';
import { laiChauContext, SITE_FILE } from '../test/support/alerts-fixtures.ts';

const siteText = readFileSync(SITE_FILE, 'utf8');

function problems(text: string): string[] {
  const r = checkSiteText(text, 'site.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('the committed site file', () => {
  it('the committed site file carries the alerts section; timezone defaults to the site', () => {
    const { policy, roster } = laiChauContext();
    expect(policy.brand).toBe('PCCR LAI CHAU');
    expect(policy.timezone).toBe(roster.site.site.timezone);
    expect(policy.routes).toHaveLength(5);
    expect(findRoute(policy, 'fire-confirmed')?.escalation[0]?.to[0]).toBe('rangers');
  });
});

describe('checks of the alerts section', () => {
  it('a site without an alerts section is valid for the other services but the alerts service refuses it', () => {
    const cut = siteText.slice(0, siteText.indexOf('\n# Alerts:'));
    const r = checkSiteText(cut, 'site.yaml');
    assert(r.ok);
    expect(() => sitePolicy(r.value)).toThrow(/has no alerts section/);
  });

  it('teams, boards and members named in the alerts section must exist on the roster (file:line errors)', () => {
    const text = siteText
      .replace('      to: [ team-members, commune-board, city-board ]', '      to: [ team-members, team:team-xyz-9, board:board-nowhere, member:nobody-m01 ]')
      .replace('        - { afterS: 900, to: [ rangers ] }', '        - { afterS: 900, to: [ rangers, member:rangers-m02 ] }');
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes('team:team-xyz-9')) + 1;
    expect(problems(text)).toStrictEqual([
      `site.yaml:${line} alerts.routes[0].to[1]: unknown team team-xyz-9`,
      `site.yaml:${line} alerts.routes[0].to[2]: unknown board board-nowhere (the city board or a commune board id)`,
      `site.yaml:${line} alerts.routes[0].to[3]: unknown member nobody-m01`,
    ]);
  });

  it('zone audiences must name somebody: no rangers listed, a zone with nodes but no commune board', () => {
    const noRangers = siteText.replace(/^rangers:\n(?: {2}- .*\n)+/m, 'rangers: []\n');
    expect(problems(noRangers).map((p) => p.replace(/^site\.yaml:\d+ /, ''))).toStrictEqual(['alerts.routes[0].escalation[0].to[0]: rangers is named but the site lists no rangers', 'alerts.routes[2].to[3]: rangers is named but the site lists no rangers']);
    const noBoard = siteText.replace('      zone: san-thang\n      members:', '      zone: nam-loong\n      members:');
    expect(problems(noBoard)).toContainEqual(expect.stringMatching(/alerts\.routes\[0\]\.to\[1\]: commune-board: no commune board for san-thang/));
    const badAudience = problems(siteText.replace('to: [ team-leaders ]', 'to: [ team-leader ]'));
    expect(badAudience).toHaveLength(1);
    expect(badAudience[0]).toMatch(/alerts\.routes\[1\]\.to\[0\]/);
  });
});

it('team:, board: and member: references resolve to those people whatever the zone', () => {
  const { roster } = laiChauContext();
  expect(audienceMembers(roster, 'team:team-sth-1', 'quyet-thang')).toHaveLength(13);
  expect(audienceMembers(roster, 'board:city-board', 'san-thang')).toHaveLength(23);
  const nlo = roster.site.boards.communes.find((b) => b.id === 'board-nlo');
  assert(nlo);
  expect(audienceMembers(roster, 'board:board-nlo', 'san-thang')).toHaveLength(nlo.members.length);
  expect(audienceMembers(roster, 'member:rangers-m02', 'san-thang').map((r) => r.id)).toStrictEqual(['rangers-m02']);
  // A union never lists a person twice.
  const union = resolveAudiences(buildRoster(roster.site), ['team-leaders', 'team:team-sth-1', 'member:team-sth-1-m01'], 'san-thang');
  expect(union).toHaveLength(new Set(union.map((r) => r.id)).size);
  expect(union).toHaveLength(8 + 12);
});
