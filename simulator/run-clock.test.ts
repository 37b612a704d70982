// Which runs fit how the running pipeline judges time (README "Time model"): the pure check that
// simulate and replay make before anything is sent.
import { describe, expect, it } from 'vitest';
import type { PipelineClockStatus } from '../contracts/payloads.ts';
import { checkRunAgainstPipeline, type RunTiming } from './run-clock.ts';

const NOW = Date.parse('2026-12-04T17:00:00Z');
const status = (role: PipelineClockStatus['role'], services: PipelineClockStatus['services']): PipelineClockStatus => ({ role, services, runId: null, ts: new Date(NOW).toISOString() });

const start = status('rules', { ingest: 'follow', rules: 'follow', alerts: 'follow' });
const startReadings = status('rules', { ingest: 'follow', rules: 'readings', alerts: 'follow' });
const standalone = [status('ingest', { ingest: 'wall' }), status('rules', { rules: 'wall' }), status('alerts', { alerts: 'wall' })];
const standaloneReadings = [status('ingest', { ingest: 'wall' }), status('rules', { rules: 'readings' }), status('alerts', { alerts: 'wall' })];
const optedIn = [status('ingest', { ingest: 'follow' }), status('rules', { rules: 'follow' }), status('alerts', { alerts: 'follow' })];

const placed60: RunTiming = { kind: 'placed', speed: 60 };
const placed1: RunTiming = { kind: 'placed', speed: 1 };
const past = Date.parse('2026-03-20T04:00:00Z');
const fast: RunTiming = { kind: 'fast', firstTsMs: past };
const ownTime: RunTiming = { kind: 'own-time', speed: 60, firstTsMs: past };

describe('checkRunAgainstPipeline', () => {
  it.each<{ what: string; timing: RunTiming; statuses: PipelineClockStatus[]; ok: boolean }>([
    { what: 'an accelerated placed run into fire-ews start', timing: placed60, statuses: [start], ok: true },
    { what: 'an accelerated placed run into standalone services on the wall clock', timing: placed60, statuses: standalone, ok: false },
    { what: 'an accelerated placed run into services that opted in (EWS_FOLLOW_RUN_CLOCKS=true)', timing: placed60, statuses: optedIn, ok: true },
    { what: 'an accelerated placed run when only rules follows', timing: placed60, statuses: [status('ingest', { ingest: 'follow' }), status('rules', { rules: 'follow' }), status('alerts', { alerts: 'wall' })], ok: false },
    { what: 'a real-time placed run into anything', timing: placed1, statuses: standalone, ok: true },
    { what: '--fast of past data into fire-ews start (rules on the pipeline clock)', timing: fast, statuses: [start], ok: false },
    { what: '--fast of past data into standalone rules on the wall clock', timing: fast, statuses: standalone, ok: false },
    { what: '--fast of past data into rules on the readings clock', timing: fast, statuses: standaloneReadings, ok: true },
    { what: '--fast into start with RULES_CLOCK=readings', timing: fast, statuses: [startReadings], ok: true },
    { what: 'past data at its own time, paced, into the wall clock', timing: ownTime, statuses: standalone, ok: false },
    { what: 'past data at its own time, paced, into rules on the readings clock', timing: ownTime, statuses: standaloneReadings, ok: true },
  ])('$what → $ok', ({ timing, statuses, ok }) => {
    expect(checkRunAgainstPipeline(timing, statuses, NOW).ok).toBe(ok);
  });

  it('the refusal says what would go wrong, which service, and what to do instead', () => {
    const accelerated = checkRunAgainstPipeline(placed60, standalone, NOW);
    expect(accelerated).toStrictEqual({ ok: false, message: expect.stringMatching(/^refused: an accelerated run \(--speed 60\) needs every pipeline service to follow run clocks, but ingest \(svc-ingest\), rules \(svc-rules\), alerts \(svc-alerts\) judge time on the wall clock.*EWS_FOLLOW_RUN_CLOCKS=true.*--speed 1.*--out/) });
    const pastFast = checkRunAgainstPipeline(fast, [start], NOW);
    expect(pastFast).toStrictEqual({ ok: false, message: expect.stringMatching(/^refused: --fast sends readings with their own timestamps as fast as possible \(from 2026-03-20 04:00Z, 260 days before now\), but rules \(svc-rules\) judges time.*RULES_CLOCK=readings/) });
  });

  it('a pipeline that plays its own simulation takes no other run', () => {
    const busy = { ...start, simulating: 'simulate normal-day' };
    expect(checkRunAgainstPipeline(placed1, [busy], NOW)).toStrictEqual({ ok: false, message: expect.stringMatching(/^refused: the pipeline plays its own simulation \(simulate normal-day\).*npm start -- --no-simulation/) });
  });

  it('with no pipeline on the broker nothing can be checked: allowed, with a note', () => {
    expect(checkRunAgainstPipeline(placed60, [], NOW)).toStrictEqual({ ok: true, note: expect.stringContaining('nothing checked') });
  });
});
