// The page's panels as HTML strings from the view: active fires with their timeline and alerts,
// levels per zone, sensors needing attention, other open alerts. Pure (no DOM), so tests render
// them without a browser and the page stays a thin shell around them.
import { ago, clock, dateTime, duration, escapeHtml, formatP, LEVEL_COLOURS, NO_LEVEL_COLOUR, t, vnDate, type Lang } from './i18n.ts';
import type { AlertView, BoardView, FireView, LevelView, ZoneView } from './view.ts';

export interface PanelOptions {
  lang: Lang;
  now: number;
  /** Board members may acknowledge; the kiosk view may not. */
  canAck: boolean;
  /** Alerts being acknowledged right now (button disabled). */
  pendingAcks?: ReadonlySet<string>;
  ackErrors?: ReadonlyMap<string, string>;
}

const e = escapeHtml;

function zoneName(view: BoardView, id: string, lang: Lang): string {
  const z = view.zones.find((x) => x.id === id);
  return z ? `${t(lang).zoneKind[z.kind]} ${z.name}` : id;
}

/** The level written on its colour: "Cấp III" plus the name; grey "–" without a level. */
export function levelBadge(l: Pick<LevelView, 'level' | 'roman'> | null, lang: Lang, size: 'big' | 'small' = 'small'): string {
  const w = t(lang);
  const c = l?.level ? LEVEL_COLOURS[l.level] : NO_LEVEL_COLOUR;
  const text = l?.level ? `${w.levelWord} ${l.roman}` : `${w.levelWord} –`;
  return `<span class="level-badge ${size}" data-level="${l?.level ?? ''}" style="background:${c.fill};color:${c.text}">${e(text)}</span>`;
}

function alertBlock(a: AlertView, view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  const tz = view.site.timezone;
  const people = a.recipients
    .map((r) => `<li class="recipient" data-state="${e(r.state)}"><span class="who">${e(r.name)}</span> <span class="unit">${e(r.unit)}</span> <span class="delivery ${e(r.state)}">${e((w.delivery as Record<string, string>)[r.state] ?? r.state)}</span>${r.step !== 'initial' ? ` <span class="step">${e(r.step)}</span>` : ''}</li>`)
    .join('');
  const escalation =
    a.stepsTotal === 0
      ? w.noEscalation
      : `${w.step} ${a.stepsDone}/${a.stepsTotal}${a.nextEscalationAt && a.status === 'active' ? ` — ${w.nextStep} ${clock(a.nextEscalationAt, tz)}` : ''}`;
  const ack = a.ack
    ? `<p class="ack done">✔ ${e(w.ackedBy)} <strong>${e(a.ack.by)}</strong> ${e(clock(a.ack.at, tz))} (${e((w.ackVia as Record<string, string>)[a.ack.channel] ?? a.ack.channel)})</p>`
    : `<p class="ack none">${e(w.notAcked)}</p>`;
  const pending = o.pendingAcks?.has(a.alertId) ?? false;
  const error = o.ackErrors?.get(a.alertId);
  const button =
    o.canAck && a.status === 'active'
      ? `<button type="button" class="ack-button" data-ack="${e(a.alertId)}"${pending ? ' disabled' : ''}>${e(pending ? w.acknowledging : w.acknowledge)}</button>${error ? `<p class="ack-error" role="alert">${e(w.ackFailed)}: ${e(error)}</p>` : ''}`
      : '';
  const counts = Object.entries(a.counts)
    .map(([s, n]) => `${n} ${e((w.delivery as Record<string, string>)[s] ?? s)}`)
    .join(' · ');
  return (
    `<div class="alert" data-alert="${e(a.alertId)}" data-status="${a.status}">` +
    `<div class="alert-head"><strong>${e((w.alertKind as Record<string, string>)[a.kind] ?? a.kind)}</strong> — ${e(zoneName(view, a.zoneId, o.lang))}${a.nodeId ? ` (${e(a.nodeId)})` : ''} · ${e(clock(a.openedAt, tz))} · <span class="status">${e(w.alertStatus[a.status])}</span></div>` +
    `<div class="escalation">${e(escalation)}</div>${ack}${button}` +
    `<details class="recipients"><summary>${e(w.texted)}: ${a.recipients.length}${counts ? ` — ${counts}` : ''}</summary><ul>${people}</ul></details>` +
    `</div>`
  );
}

function fireCard(f: FireView, view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  const tz = view.site.timezone;
  const since = Date.parse(f.firstAnomalyAt);
  const steps = f.timeline
    .map((s) => `<li class="tl ${e(s.kind)}"><span class="t">${e(dateTime(s.ts, tz))}</span> ${e((w.timeline as Record<string, string>)[s.kind] ?? w.timeline.other)}${s.nodeId ? ` <span class="node-id">${e(s.nodeId)}</span>` : ''}</li>`)
    .join('');
  const state = f.state === 'cleared' ? w.fireState.cleared : w.fireState[f.state];
  const confirmedBy = f.confirmedBy ? ` <span class="by">(${e((w.confirmedBy as Record<string, string>)[f.confirmedBy] ?? f.confirmedBy)})</span>` : '';
  return (
    `<article class="fire-card ${f.state}" data-incident="${e(f.incidentId)}" data-state="${f.state}" data-zone="${e(f.zoneId)}">` +
    `<header><span class="fire-state">${e(state)}</span>${confirmedBy}<span class="fire-zone">${e(zoneName(view, f.zoneId, o.lang))}</span></header>` +
    (f.state !== 'cleared' ? `<p class="elapsed"><strong data-since="${since}">${e(duration(o.now - since, o.lang))}</strong> ${e(w.sinceFirst)} (${e(clock(since, tz))})</p>` : '') +
    `<p class="nodes">${e(w.nodesInvolved)}: ${f.nodes.map((n) => `<span class="node-id">${e(n)}</span>`).join(' ')}</p>` +
    `<ol class="timeline">${steps}</ol>` +
    // The last word on an open fire is "signal lost": say plainly that it is not out.
    (f.state !== 'cleared' && f.timeline.at(-1)?.kind === 'fire-signal-lost' ? `<p class="signal-lost">${e(w.signalLost)}</p>` : '') +
    f.alerts.map((a) => alertBlock(a, view, o)).join('') +
    `</article>`
  );
}

export function renderFires(view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  if (view.fires.length === 0) return `<p class="calm">✓ ${e(w.noFires)}</p>`;
  return view.fires.map((f) => fireCard(f, view, o)).join('');
}

function levelCell(l: (LevelView & { isToday?: boolean }) | null, view: BoardView, lang: Lang): string {
  const w = t(lang);
  if (!l) return `<td class="lvl" title="${e(w.noLevel)}">${levelBadge(null, lang)}</td>`;
  const stale = l.isToday === false ? ` <span class="warn">${e(w.notToday)} ${e(vnDate(l.date))}</span>` : '';
  const when = l.isToday === undefined ? ` <span class="muted">${e(clock(l.ts, view.site.timezone))}</span>` : '';
  return `<td class="lvl">${levelBadge(l, lang)}${when}${stale}<div class="q ${l.quality}">${e(w.p)} ${e(formatP(l.p))} · ${e(w.quality[l.quality])}</div></td>`;
}

function zoneRow(z: ZoneView, view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  const fresh = `<span class="fresh ${z.freshness}" title="${e(w.freshness[z.freshness])}">${z.reporting}/${z.nodes}</span> <span class="muted">${z.lastReadingAt ? e(ago(z.lastReadingAt, o.now, o.lang)) : e(w.freshness.none)}</span>`;
  const fire = z.fire ? `<span class="fire-flag ${z.fire}">${e(w.fireState[z.fire])}</span>` : '';
  return (
    `<tr class="zone-row" data-zone="${e(z.id)}" data-level="${z.official?.level ?? ''}" data-freshness="${z.freshness}">` +
    `<th scope="row"><button type="button" class="zone-pick" data-zone="${e(z.id)}">${e(w.zoneKind[z.kind])} ${e(z.name)}</button>${z.hotspot ? '<span class="hotspot" title="hotspot"> ●</span>' : ''}${fire ? ` ${fire}` : ''}</th>` +
    levelCell(z.official, view, o.lang) +
    (z.provisional ? levelCell(z.provisional, view, o.lang) : `<td class="lvl muted">–</td>`) +
    `<td class="freshness-cell">${fresh}</td></tr>`
  );
}

export function renderZones(view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  return (
    `<table class="zones"><thead><tr><th></th><th>${e(w.official)}</th><th>${e(w.provisional)}</th><th>${e(w.reporting)}</th></tr></thead><tbody>` +
    view.zones.map((z) => zoneRow(z, view, o)).join('') +
    `</tbody></table>`
  );
}

export function renderSensors(view: BoardView, o: PanelOptions): string {
  const w = t(o.lang);
  const problems = view.nodes.filter((n) => n.health !== 'ok');
  const counts = (['ok', 'stale', 'fault', 'offline', 'unknown'] as const)
    .map((h) => ({ h, n: view.nodes.filter((x) => x.health === h).length }))
    .filter((c) => c.n > 0)
    .map((c) => `<span class="count ${c.h}">${c.n} ${e(w.health[c.h])}</span>`)
    .join(' ');
  const rows = problems
    .map((n) => {
      const detail = [n.faults.join(', '), n.lastReadingAt ? `${w.lastData}: ${ago(n.lastReadingAt, o.now, o.lang)}` : w.freshness.none].filter(Boolean).join(' · ');
      return `<li class="node-row" data-node="${e(n.id)}" data-health="${n.health}"><button type="button" class="node-pick" data-node="${e(n.id)}">${e(n.id)}</button> <span class="health ${n.health}">${e(w.health[n.health])}</span> <span class="muted">${e(zoneName(view, n.zone, o.lang))} · ${e(detail)}</span></li>`;
    })
    .join('');
  return `<p class="counts">${counts}</p>${problems.length ? `<h3>${e(w.problemNodes)}</h3><ul class="problem-nodes">${rows}</ul>` : `<p class="calm">✓ ${e(w.allNodesOk)}</p>`}`;
}

export function renderOtherAlerts(view: BoardView, o: PanelOptions): string {
  if (view.otherAlerts.length === 0) return '';
  return view.otherAlerts.map((a) => alertBlock(a, view, o)).join('');
}

/** Sources that are down, for the banner (empty when all is well). */
export function sourceProblems(view: BoardView, lang: Lang): string[] {
  const w = t(lang).sourcesDown;
  const out: string[] = [];
  if (!view.sources.mqtt) out.push(w.mqtt);
  if (view.sources.alerts === 'error') out.push(`${w.alerts}${view.sources.alertsError ? ` (${view.sources.alertsError})` : ''}`);
  if (view.sources.readingsError) out.push(`${w.readings} (${view.sources.readingsError})`);
  return out;
}
