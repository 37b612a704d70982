// The exact command-line interface, through the real `fire-ews` entry point (what `npx fire-ews` runs).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readingSchema } from '../../contracts/payloads.ts';
import { CSV_COLUMNS, readingToCsvRecord, readingToLineProtocol } from '../../contracts/reading-files.ts';
import { loadSiteFile } from '../../platform/site-file.ts';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rules-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fireEws(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bin/fire-ews.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('fire-ews nesterov', () => {
  it('npx fire-ews nesterov --input daily.csv prints date,d13,p,level', () => {
    const file = join(dir, 'daily.csv');
    writeFileSync(file, 'date,t13,rh13,rain\n2026-02-01,28,40,0\n2026-02-02,28,40,0\n2026-02-03,25,90,12\n');
    const r = fireEws(['nesterov', '--input', file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('date,d13,p,level\n2026-02-01,22.63,633.55,1\n2026-02-02,22.63,1267.11,2\n2026-02-03,3.16,0.00,1\n');
  });

  it('nesterov --site uses the site file danger table; an invalid site file is an error', () => {
    const site = readFileSync(join(root, 'config/lai-chau.site.yaml'), 'utf8');
    const custom = site.replace(/thresholds: \[[^\]]*\]/, 'thresholds: [ 600, 700, 800, 900 ]');
    expect(custom).not.toBe(site);
    const siteFile = join(dir, 'custom.site.yaml');
    writeFileSync(siteFile, custom);
    const file = join(dir, 'one.csv');
    writeFileSync(file, 'date,t13,rh13,rain\n2026-02-01,28,40,0\n');
    expect(fireEws(['nesterov', '--input', file]).stdout.split('\n')[1]).toBe('2026-02-01,22.63,633.55,1');
    expect(fireEws(['nesterov', '--input', file, '--site', siteFile]).stdout.split('\n')[1]).toBe('2026-02-01,22.63,633.55,2');
    const broken = join(dir, 'broken.site.yaml');
    writeFileSync(broken, site.replace('rainResetMm: 5', 'rainResetMm: -5'));
    const r = fireEws(['nesterov', '--input', file, '--site', broken]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/broken\.site\.yaml:\d+ dangerTable\.rainResetMm/);
  });

  it('nesterov: bad rows on stderr with line numbers, exit 1, no rows from the first bad one', () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'date,t13,rh13,rain\n2026-02-01,28,40,0\n2026-02-02,28,x,0\n2026-02-03,28,40,0\n');
    const r = fireEws(['nesterov', '--input', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('date,d13,p,level\n2026-02-01,22.63,633.55,1\n');
    expect(r.stderr).toMatch(/bad\.csv:3 rh13 is not a number/);
  });
});

describe('fire-ews fwi', () => {
  it('npx fire-ews fwi --input daily.csv --ffmc0 --dmc0 --dc0 prints date,ffmc,dmc,dc,isi,bui,fwi,dsr', () => {
    const file = join(dir, 'fwi.csv');
    writeFileSync(file, 'date,temp,rh,wind,precip,lat\n1985-04-13,17,42,25,0,40\n1985-04-14,20,21,25,2.4,40\n');
    const r = fireEws(['fwi', '--input', file, '--ffmc0', '85', '--dmc0', '6', '--dc0', '15']);
    expect(r.status, r.stderr).toBe(0);
    // cffdrs fwi(test_fwi), days 1–2: 87.65 8.545 19.01 10.78 8.49 10.04 1.612 / 86.2 10.4 23.57 8.771 10.36 9.22 1.387
    expect(r.stdout).toBe('date,ffmc,dmc,dc,isi,bui,fwi,dsr\n1985-04-13,87.65,8.55,19.01,10.78,8.49,10.04,1.61\n1985-04-14,86.20,10.40,23.57,8.77,10.36,9.22,1.39\n');
    const bad = fireEws(['fwi', '--input', file, '--ffmc0', '120']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--ffmc0 must be a number in 0…101/);
  });
});

describe('fire-ews backtest', () => {
  it('backtest reads NDJSON, CSV and line protocol alike, and reports bad rows with their line numbers', () => {
    const ndjson = join(dir, 'fire.ndjson');
    expect(fireEws(['simulate', '--scenario', 'fire-san-thang', '--fast', '--out', ndjson]).status).toBe(0);
    const readings = readFileSync(ndjson, 'utf8').trim().split('\n').map((l) => readingSchema.parse(JSON.parse(l)));
    const zoneOf = new Map(loadSiteFile(join(root, 'config/lai-chau.site.yaml')).nodes.map((n) => [n.id, n.zone]));
    const csv = join(dir, 'fire.csv');
    // Line 3 is a broken row: it is reported and the rest still runs.
    writeFileSync(csv, [CSV_COLUMNS.join(','), readingToCsvRecord(readings[0]!), 'san-thang-01,x,not-a-time,1,2,3', ...readings.slice(1).map(readingToCsvRecord)].join('\n') + '\n');
    const lp = join(dir, 'fire.lp');
    writeFileSync(lp, readings.map((r) => readingToLineProtocol(r, zoneOf.get(r.nodeId)!)).join('\n') + '\n');
    const a = fireEws(['backtest', ndjson]);
    const b = fireEws(['backtest', csv]);
    const c = fireEws(['backtest', lp]);
    expect(a.status, a.stderr).toBe(0);
    expect(c.status, c.stderr).toBe(0);
    expect(b.status, 'a bad row makes the exit code 1').toBe(1);
    expect(b.stderr).toMatch(/line 3\b/);
    const events = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; eventId: string });
    expect(events(a.stdout).map((e) => e.kind), 'the fire is confirmed').toContain('fire-confirmed');
    expect(events(b.stdout)).toStrictEqual(events(a.stdout));
    expect(events(c.stdout)).toStrictEqual(events(a.stdout));
  });
});
