// `fire-ews drill …`: starts, lists, ends and reports drills through the alerts service's API
// (README "Drills"), so a drill from a terminal is the same as one from the board or the schedule.
import type { Command } from 'commander';
import { z } from 'zod';
import { DRILL_KINDS, drillListResponseSchema, drillReportSchema, drillStartResponseSchema, type DrillReport, type DrillStart } from '../contracts/alerts-api.ts';
import { drillCliEnvSchema, type DrillCliEnv } from '../contracts/config.ts';
import { fetchJson } from '../platform/fetch-json.ts';

const TIMEOUT_MS = 10_000;
const MAX_BYTES = 8 * 1024 * 1024;

function loadDrillEnv(): DrillCliEnv {
  const r = drillCliEnvSchema.safeParse(process.env);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

async function call<T extends z.ZodType>(env: DrillCliEnv, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
  return fetchJson(
    new URL(path, env.ALERTS_URL).toString(),
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
  for (const u of r.units) lines.push(`  ${u.name}: texted ${u.texted}, acknowledged ${u.acknowledged}, never ${u.neverAcknowledged}, median ${seconds(u.medianResponseS)}, worst ${seconds(u.worstResponseS)}`);
  for (const p of r.previous) lines.push(`  earlier ${p.drillId}: acknowledged ${p.acknowledged}/${p.texted}, median ${seconds(p.medianResponseS)}, worst ${seconds(p.worstResponseS)}`);
  return lines.join('\n');
}

export function registerDrillCommands(program: Command): void {
  program
    .command('drill')
    .description('start an alert drill (diễn tập): the real SMS path, every message marked DIEN TAP; needs ALERTS_API_KEY (ALERTS_URL, default http://127.0.0.1:8090)')
    .requiredOption('--zone <zoneId>', 'the zone drilled, e.g. san-thang')
    .option('--kind <kind>', `what is rehearsed: ${DRILL_KINDS.join(' | ')}`, 'fire-confirmed')
    .option('--audience <list>', 'comma-separated audiences instead of the route\'s first recipients (team-leaders, team:<id>, member:<id>…); then no escalation')
    .option('--dry-run', 'render and record every SMS in the outbox, send none')
    .action(async (opts: { zone: string; kind: string; audience?: string; dryRun?: boolean }) => {
      const env = loadDrillEnv();
      const body: DrillStart = { zoneId: opts.zone, kind: z.enum(DRILL_KINDS, { error: `--kind must be one of ${DRILL_KINDS.join(', ')}` }).parse(opts.kind), dryRun: opts.dryRun ?? false, startedBy: 'cli' };
      if (opts.audience) body.audience = opts.audience.split(',').map((a) => a.trim()).filter(Boolean) as DrillStart['audience'];
      const r = await call(env, '/api/drills', drillStartResponseSchema, body);
      console.log(`drill ${r.drillId} started: ${r.recipients} people texted${opts.dryRun ? ' (dry run: recorded, not sent)' : ''}; report: fire-ews drill-report ${r.drillId}`);
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
