import { describe, expect, it } from 'vitest';
import { runFwiCsv, runNesterovCsv } from './daily-tools.ts';
import { dangerTableSchema } from '../contracts/site.ts';

const rows = (stdout: string) => stdout.trim().split('\n');

describe('nesterov CSV tool', () => {
  it('one output row per input day, in order, with d13, P and level', () => {
    const csv = [
      'date,t13,rh13,rain',
      '2026-02-01,28,40,0', // d = 22.63, term 633.55
      '2026-02-02,28,40,0', // P 1267.11 → II
      '2026-02-03,28,40,4.9', // small rain: still accumulates
      '2026-02-04,25,90,5', // reset
      '2026-02-05,30,35,0', // d = 27.52, term 825.58
    ].join('\n');
    const r = runNesterovCsv(csv, 'daily.csv');
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toStrictEqual([]);
    expect(rows(r.stdout)).toStrictEqual([
      'date,d13,p,level',
      '2026-02-01,22.63,633.55,1',
      '2026-02-02,22.63,1267.11,2',
      '2026-02-03,22.63,1900.66,2',
      '2026-02-04,3.16,0.00,1',
      '2026-02-05,27.52,825.58,1',
    ]);
  });

  it('the site table sets thresholds, rain limit and unit; CRLF, BOM, blank lines and column order are accepted', () => {
    const table = dangerTableSchema.parse({ thresholds: [500, 1000, 1500, 2000], rainResetMm: 10, deficitUnit: 'mmHg' });
    const csv = '\uFEFFrain,date,rh13,t13\r\n0,2026-03-01,40,28\r\n\r\n6,2026-03-02,40,28\r\n';
    const r = runNesterovCsv(csv, 'd.csv', { table });
    expect(r.exitCode).toBe(0);
    expect(rows(r.stdout)).toStrictEqual(['date,d13,p,level', '2026-03-01,16.97,475.20,1', '2026-03-02,16.97,950.41,2']);
  });

  it('every bad row is reported with its line; output stops before the first; exit 1', () => {
    const csv = [
      'date,t13,rh13,rain', // 1
      '2026-02-01,28,40,0', // 2 ok
      '2026-02-02,28,40', // 3 wrong column count
      '2026-02-03,abc,40,0', // 4 non-numeric
      '2026-02-04,28,140,0', // 5 RH out of range
      '2026-02-30,28,40,0', // 6 bad date
      '2026-02-06,28,,0', // 7 empty cell
      '2026-02-07,28,40,-1', // 8 negative rain
      '2026-02-08,NaN,40,0', // 9 NaN
      '2026-02-09,28,40,0', // 10 ok but after bad rows
    ].join('\n');
    const r = runNesterovCsv(csv, 'daily.csv');
    expect(r.exitCode).toBe(1);
    expect(rows(r.stdout)).toStrictEqual(['date,d13,p,level', '2026-02-01,22.63,633.55,1']);
    const lines = r.stderr.map((l) => l.split(' ')[0]);
    expect(lines.slice(0, 7)).toStrictEqual(['daily.csv:3', 'daily.csv:4', 'daily.csv:5', 'daily.csv:6', 'daily.csv:7', 'daily.csv:8', 'daily.csv:9']);
    expect(r.stderr[0]!).toMatch(/expected 4 columns, got 3/);
    expect(r.stderr[1]!).toMatch(/t13 is not a number/);
    expect(r.stderr[2]!).toMatch(/rh13 must be ≤ 100/);
    expect(r.stderr[3]!).toMatch(/date is not a valid date/);
    expect(r.stderr[4]!).toMatch(/rh13 is empty/);
    expect(r.stderr[5]!).toMatch(/rain must be ≥ 0/);
    expect(r.stderr[6]!).toMatch(/t13 is not a number/);
    expect(r.stderr.at(-1)!).toMatch(/7 bad rows in daily\.csv; output stops before line 3 \(1 of 9 days computed\)/);
  });

  it('dates must advance; a gap is a warning only', () => {
    const r = runNesterovCsv(['date,t13,rh13,rain', '2026-02-01,28,40,0', '2026-02-04,28,40,0', '2026-02-04,28,40,0'].join('\n'), 'd.csv');
    expect(r.exitCode).toBe(1);
    expect(rows(r.stdout)).toHaveLength(3);
    expect(r.stderr[0]!).toMatch(/d\.csv:3 warning: 2 days missing before 2026-02-04/);
    expect(r.stderr[1]!).toMatch(/d\.csv:4 date 2026-02-04 does not come after 2026-02-04 \(line 3\)/);
  });

  it('a bad header or an empty file computes nothing', () => {
    const bad = runNesterovCsv('date,t,rh13,rain\n2026-02-01,28,40,0\n', 'd.csv');
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr[0]!).toMatch(/^d\.csv:1 bad header: missing column t13; unknown column "t" \(expected date,t13,rh13,rain\)/);
    const empty = runNesterovCsv('', 'e.csv');
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr[0]!).toMatch(/e\.csv:1 empty file/);
    const headerOnly = runNesterovCsv('date,t13,rh13,rain\n', 'h.csv');
    expect(headerOnly.exitCode).toBe(0);
    expect(headerOnly.stdout).toBe('date,d13,p,level\n');
  });
});

describe('fwi CSV tool', () => {
  it('chains the days from the start-up codes, Lai Châu latitude by default, lat column per row', () => {
    const csv = ['date,temp,rh,wind,precip', '1985-04-13,17,42,25,0', '1985-04-14,20,21,25,2.4'].join('\n');
    const laiChau = runFwiCsv(csv, 'w.csv');
    expect(laiChau.exitCode).toBe(0);
    const [h, d1] = rows(laiChau.stdout);
    expect(h).toBe('date,ffmc,dmc,dc,isi,bui,fwi,dsr');
    // April at 22.39°N: Le = 9.5 (20°N table), Lf = 0.9 (north).
    // DMC = 6 + 1.894·18.1·58·9.5e-4 = 7.889; DC = 15 + 0.5·(0.36·19.8 + 0.9) = 19.014 (same as 46°N).
    expect(d1!).toMatch(/^1985-04-13,87\.65,7\.89,19\.01,10\.78,/);
    const north = runFwiCsv(csv.replace('precip', 'precip,lat').replace(/,0$/m, ',0,46').replace('2.4', '2.4,46'), 'w.csv');
    expect(north.exitCode).toBe(0);
    // cffdrs test_fwi day 1: 87.65, 8.545, 19.01, 10.78, 8.49, 10.04, 1.612.
    expect(rows(north.stdout)[1]).toBe('1985-04-13,87.65,8.55,19.01,10.78,8.49,10.04,1.61');
    const started = runFwiCsv(csv, 'w.csv', { start: { ffmc: 90, dmc: 20, dc: 200 } });
    expect(rows(started.stdout)[1]).not.toBe(d1);
  });

  it('bad rows are reported with line numbers and nothing is computed from them', () => {
    const csv = ['date,temp,rh,wind,precip,lat', '2026-02-01,20,40,10,0,22.4', '2026-02-02,20,40,ten,0,22.4', '2026-02-03,20,40,10,0,95', '2026-02-04,20,40,10,0'].join('\n');
    const r = runFwiCsv(csv, 'w.csv');
    expect(r.exitCode).toBe(1);
    expect(rows(r.stdout)).toHaveLength(2);
    expect(r.stderr[0]!).toMatch(/^w\.csv:3 wind is not a number/);
    expect(r.stderr[1]!).toMatch(/^w\.csv:4 lat must be ≤ 90/);
    expect(r.stderr[2]!).toMatch(/^w\.csv:5 expected 6 columns, got 5/);
  });
});
