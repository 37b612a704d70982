// `fire-ews drill …`: starts, lists, ends and reports drills through the alerts service's API
// (README "Drills"), so a drill from a terminal is the same as one from the board or the schedule.
import type { Command } from 'commander';
import { z } from 'zod';
import { DRILL_KINDS, drillListResponseSchema, drillReportSchema, drillStartResponseSchema, type DrillReport, type DrillStart } from '../contracts/alerts-api.ts';
import { drillCliEnvSchema, type DrillCliEnv } from '../contracts/config.ts';
import { parseEnv } from '../platform/config-error.ts';
import { ApiFailover } from '../platform/api-failover.ts';
import { parseWith, pipelineSpeed } from '../platform/cli-options.ts';

const TIMEOUT_MS = 10_000;
const MAX_BYTES = 8 * 1024 * 1024;

/** ALERTS_URL and ALERTS_API_KEY; a missing or bad one is a ConfigError naming it (one line, exit 2, no stack). */
function loadDrillEnv(): DrillCliEnv {
  return parseEnv(drillCliEnvSchema, process.env);
}

async function call<T extends z.ZodType>(env: DrillCliEnv, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
  // ALERTS_URL may list a leader's and a standby's API: the one that answers is used.
  return new ApiFailover(env.ALERTS_URL).fetchJson(
    path,
    { method: body === undefined ? 'GET' : 'POST', headers: { 'x-api-key': env.ALERTS_API_KEY, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), timeoutMs: TIMEOUT_MS, maxBytes: MAX_BYTES },
    schema,
  );
}

const seconds = (s: number | null) => (s === null ? '—' : `${Math.round(s)} s`);

/** The report as text for a terminal (the board shows it as a page and exports CSV/PDF). */
export function drillReportText(r: DrillReport): string {
  const d = r.drill;
  const lines = [
    `drill ${d.drillId}: ${d.kind} in ${d.zoneId}${d.dryRun ? ' (dry run)' : ''}, started ${new Date(d.startedAt).toISOString()} by ${d.startedBy}${d.endedAt ? `, ended ${new Date(d.endedAt).toISOString()}` : ''}`,
    `texted ${d.texted}, acknowledged ${d.acknowledged}, median ${seconds(d.medianResponseS)}, worst ${seconds(d.worstResponseS)}, escalation steps ${d.escalationStepsReached}`,
  ];
  const s = r.sensor;
  if (s) {
    const at = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString());
    const outcome = s.outcome === 'not-detected' ? `NOT DETECTED by ${at(s.notDetectedAfter)}` : s.outcome;
    lines.push(`sensor drill (${outcome}): plume injected ${at(s.plumeInjectedAt)} at ${s.nodes.length} nodes, ignition near ${s.ignitionNode} ${at(s.ignitionAt)}, ${s.speed}×`);
    lines.push(`  first reading received by rules ${at(s.firstReadingAt)}, fire-suspected ${at(s.suspectedAt)} (${seconds(s.detectionS)} after ignition), fire-confirmed ${at(s.confirmedAt)} (${seconds(s.confirmationS)}), first SMS ${at(s.firstSmsAt)}`);
  }
  for (const u of r.units) lines.push(`  ${u.name}: texted ${u.texted}, acknowledged ${u.acknowledged}, never ${u.neverAcknowledged}, median ${seconds(u.medianResponseS)}, worst ${seconds(u.worstResponseS)}`);
  for (const p of r.previous) lines.push(`  earlier ${p.drillId}: acknowledged ${p.acknowledged}/${p.texted}, median ${seconds(p.medianResponseS)}, worst ${seconds(p.worstResponseS)}${p.sensorOutcome ? `, sensor ${p.sensorOutcome}, detection ${seconds(p.detectionS)}` : ''}`);
  return lines.join('\n');
}

/**
 * A whole sensor drill as the simulator runs it (simulator/drill-plume.ts `sensorDrillFromEnv`: plan the
 * plume, POST /api/drills with it, play it; the drill player runs the same function), wired in by
 * cli/fire-ews.ts: services do not import each other.
 */
export type SensorDrillRunner = (
  ask: { zoneId: string; speed: number; node?: string; audience?: DrillStart['audience']; dryRun: boolean; startedBy: string },
  api: { url: string; key: string },
  onStarted: (drillId: string, plan: { ignitionNode: string; nodes: string[]; ignitionAtMs: number; endWallMs: number }) => void,
) => Promise<{ drillId: string; sent: number }>;

export function registerDrillCommands(program: Command, sensorDrill?: () => SensorDrillRunner): void {
  program
    .command('drill')
    .description('start a drill (diễn tập): the real SMS path, every message marked DIEN TAP; --depth sensor plays a simulated plume at the zone\'s nodes first (sensors → ingest → rules → alerts); needs ALERTS_API_KEY (ALERTS_URL, default http://127.0.0.1:8090)')
    .requiredOption('--zone <zoneId>', 'the zone drilled, e.g. san-thang')
    .option('--kind <kind>', `what is rehearsed (alert drills): ${DRILL_KINDS.join(' | ')}`, parseWith(z.enum(DRILL_KINDS, { error: `expected one of ${DRILL_KINDS.join(', ')}` }), '--kind'), 'fire-confirmed')
    .option('--depth <depth>', 'alert: the drill alert opens at once; sensor: a simulated smoke plume through the real broker, the alert opens when rules detects it', parseWith(z.enum(['alert', 'sensor'], { error: 'expected alert or sensor' }), '--depth'), 'alert')
    .option('--speed <n>', 'sensor drills: the plume\'s fire minutes play this many times faster than real time (clean air first, at once)', parseWith(pipelineSpeed, '--speed'), 1)
    .option('--node <nodeId>', 'sensor drills: the fire starts 120 m upwind of this node (default the zone\'s first)')
    .option('--audience <list>', 'comma-separated audiences instead of the route\'s first recipients (team-leaders, team:<id>, member:<id>…); then no escalation')
    .option('--dry-run', 'render and record every SMS in the outbox, send none')
    .action(async (opts: { zone: string; kind: (typeof DRILL_KINDS)[number]; depth: 'alert' | 'sensor'; speed: number; node?: string; audience?: string; dryRun?: boolean }) => {
      const env = loadDrillEnv();
      const depth = opts.depth;
      const body: DrillStart = { zoneId: opts.zone, kind: opts.kind, dryRun: opts.dryRun ?? false, startedBy: 'cli', depth };
      if (opts.audience) body.audience = opts.audience.split(',').map((a) => a.trim()).filter(Boolean) as DrillStart['audience'];
      if (depth === 'alert') {
        const r = await call(env, '/api/drills', drillStartResponseSchema, body);
        console.log(`drill ${r.drillId} started: ${r.recipients} people texted${opts.dryRun ? ' (dry run: recorded, not sent)' : ''}; report: fire-ews drill-report ${r.drillId}`);
        return;
      }
      if (!sensorDrill) throw new Error('sensor drills are not available in this build');
      const speed = opts.speed;
      const run = sensorDrill();
      const r = await run({ zoneId: opts.zone, speed, dryRun: body.dryRun ?? false, startedBy: 'cli', ...(opts.node ? { node: opts.node } : {}), ...(body.audience ? { audience: body.audience } : {}) }, { url: env.ALERTS_URL, key: env.ALERTS_API_KEY }, (drillId, p) => {
        console.log(`drill ${drillId} started (sensor): plume at ${p.nodes.length} nodes of ${opts.zone}, fire 120 m upwind of ${p.ignitionNode} at ${new Date(p.ignitionAtMs).toISOString()} (readings' clock), ${speed}× real time, until ${new Date(p.endWallMs).toISOString()}; nobody is texted until rules detects it${opts.dryRun ? ' (dry run)' : ''}`);
      });
      console.log(`plume played: ${r.sent} drill readings; report: fire-ews drill-report ${r.drillId}`);
    });
  program
    .command('drill-report')
    .argument('<drillId>')
    .description('a drill\'s report: texted, acknowledged (when, how), median and worst time per team, trend of the zone')
    .option('--json', 'the report as JSON')
    .action(async (drillId: string, opts: { json?: boolean }) => {
      const r = await call(loadDrillEnv(), `/api/drills/${encodeURIComponent(drillId)}`, drillReportSchema);
      console.log(opts.json ? JSON.stringify(r, null, 2) : drillReportText(r));
    });
  program
    .command('drill-list')
    .description('every drill, oldest first')
    .option('--zone <zoneId>')
    .action(async (opts: { zone?: string }) => {
      const r = await call(loadDrillEnv(), `/api/drills${opts.zone ? `?zone=${encodeURIComponent(opts.zone)}` : ''}`, drillListResponseSchema);
      for (const d of r.drills) console.log(`${d.drillId}\t${d.kind}\t${new Date(d.startedAt).toISOString()}\tacknowledged ${d.acknowledged}/${d.texted}\tmedian ${seconds(d.medianResponseS)}${d.endedAt ? '' : '\topen'}`);
    });
  program
    .command('drill-end')
    .argument('<drillId>')
    .description('end a drill now: no more repeats or escalation (it also ends by itself when its links expire)')
    .action(async (drillId: string) => {
      await call(loadDrillEnv(), `/api/drills/${encodeURIComponent(drillId)}/end`, z.object({ ok: z.literal(true) }), {});
      console.log(`drill ${drillId} ended`);
    });
}
