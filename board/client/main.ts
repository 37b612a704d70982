// The situation board in the browser: renders the view the server sent with the page, then keeps it
// live through server-sent events (reconnecting by itself after a server restart or a network
// cut), draws the map and the 24-hour charts, and sends acknowledgements (members only).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './board.css';
import type { MapGeometry } from '../geometry.ts';
import { clock, escapeHtml, t, type Lang } from '../i18n.ts';
import { renderLegend, renderMapSvg } from '../map-svg.ts';
import type { Series } from '../series.ts';
import { renderFires, renderOtherAlerts, renderSensors, renderZones, sourceProblems } from '../ui.ts';
import type { BoardView } from '../view.ts';

interface Boot {
  version: string;
  view: BoardView;
  geometry: MapGeometry;
  user: { role: 'member'; name: string; memberId: string } | { role: 'kiosk' };
  lang: Lang;
  /** Members with an alerts service: the page links to the drills (/drills). */
  drills?: boolean;
}

const bootEl = document.getElementById('boot');
const boot = JSON.parse(bootEl?.textContent ?? '{}') as Boot;
const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
const canAck = boot.user.role === 'member';

let view = boot.view;
let version = boot.version;
let lang: Lang = (localStorage.getItem('ews_lang') as Lang | null) ?? boot.lang;
let connected = false;
let lastMessageAt = Date.now();
let selection: { zone: string } | { node: string } = defaultSelection(view);
let series: Series | null = null;
const pendingAcks = new Set<string>();
const ackErrors = new Map<string, string>();
const charts: uPlot[] = [];

function defaultSelection(v: BoardView): { zone: string } {
  const fire = v.fires.find((f) => f.state !== 'cleared');
  if (fire) return { zone: fire.zoneId };
  const highest = [...v.zones].sort((a, b) => (b.official?.level ?? 0) - (a.official?.level ?? 0))[0];
  return { zone: highest?.id ?? v.zones[0]?.id ?? '' };
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;

function layout(): void {
  const w = t(lang);
  const user =
    boot.user.role === 'member'
      ? `<span class="user">${escapeHtml(boot.user.name)}</span><form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${escapeHtml(csrf)}"><button type="submit">${escapeHtml(w.signOut)}</button></form>`
      : `<span class="user kiosk">${escapeHtml(w.kiosk)}</span>`;
  $('app').innerHTML =
    `<header class="top"><div class="title"><h1>${escapeHtml(w.title)}</h1><span class="site">${escapeHtml(view.site.name)}${view.site.sampleData ? ` · <span class="sample">${escapeHtml(w.sample)}</span>` : ''}</span></div>` +
    `<div class="status"><span id="conn" class="conn"></span><span id="clock" class="clock"></span></div>` +
    `<nav>${boot.drills ? `<a id="drills-link" href="/drills">${escapeHtml(w.drills)}</a>` : ''}<a id="bulletin-link" href="/bulletin/today" target="_blank" rel="noopener">${escapeHtml(w.bulletin)}</a><button type="button" id="lang">${escapeHtml(w.language)}</button>${user}</nav></header>` +
    `<div id="banner" class="banner" hidden></div>` +
    `<main class="board">` +
    `<section class="panel fires-panel"><h2>${escapeHtml(w.fires)}</h2><div id="fires"></div><div id="other-wrap" hidden><h2>${escapeHtml(w.otherAlerts)}</h2><div id="other"></div></div></section>` +
    `<section class="panel zones-panel"><h2>${escapeHtml(w.zones)}</h2><div id="zones"></div></section>` +
    `<section class="panel map-panel"><h2>${escapeHtml(w.map)}</h2><div id="map" class="map-box"></div>${renderLegend(lang)}<p class="note">${escapeHtml(w.estimatedAreas)}</p></section>` +
    `<section class="panel sensors-panel"><h2>${escapeHtml(w.sensors)}</h2><div id="sensors"></div></section>` +
    `<section class="panel charts-panel"><h2>${escapeHtml(w.charts)} — <span id="chart-title"></span></h2><div id="charts" class="charts"></div></section>` +
    `</main>`;
  $('lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    localStorage.setItem('ews_lang', lang);
    document.cookie = `ews_lang=${lang}; path=/; max-age=31536000; samesite=lax`;
    document.documentElement.lang = lang;
    layout();
    render();
    drawCharts();
  });
}

function selectedZone(): string | null {
  const sel = selection;
  if ('zone' in sel) return sel.zone;
  const node = view.nodes.find((n) => n.id === sel.node);
  return node?.zone ?? null;
}

function render(): void {
  const now = Date.now();
  const opts = { lang, now, canAck, pendingAcks, ackErrors };
  // Keep open <details> (recipient lists) open across updates.
  const open = new Set([...document.querySelectorAll<HTMLDetailsElement>('details[open]')].map((d) => d.closest('[data-alert]')?.getAttribute('data-alert') ?? ''));
  $('fires').innerHTML = renderFires(view, opts);
  $('zones').innerHTML = renderZones(view, opts);
  $('sensors').innerHTML = renderSensors(view, opts);
  const other = renderOtherAlerts(view, opts);
  $('other').innerHTML = other;
  $('other-wrap').hidden = other === '';
  $('map').innerHTML = renderMapSvg(boot.geometry, view, { lang, selectedZone: selectedZone(), labelScale: window.innerWidth < 700 ? 1.6 : 1 });
  for (const d of document.querySelectorAll<HTMLDetailsElement>('[data-alert] details')) if (open.has(d.closest('[data-alert]')?.getAttribute('data-alert') ?? '')) d.open = true;
  for (const row of document.querySelectorAll('.zone-row')) row.classList.toggle('selected', row.getAttribute('data-zone') === selectedZone());
  const problems = sourceProblems(view, lang);
  const banner = $('banner');
  banner.hidden = problems.length === 0 && connected;
  banner.textContent = [...(connected ? [] : [`${t(lang).reconnecting}…`]), ...problems].join(' · ');
  banner.className = `banner${connected ? '' : ' offline'}`;
  tick();
  document.body.dataset.version = version;
  document.body.dataset.ready = 'true';
}

function tick(): void {
  const w = t(lang);
  const tz = view.site.timezone;
  const conn = document.getElementById('conn');
  if (conn) {
    conn.className = `conn ${connected ? 'ok' : 'down'}`;
    conn.textContent = `${connected ? w.connected : w.reconnecting} · ${w.dataAsOf} ${clock(view.generatedAt, tz)}`;
  }
  const c = document.getElementById('clock');
  if (c) c.textContent = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: tz, weekday: 'short', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date());
}

// ---- live updates -------------------------------------------------------------------------------

let source: EventSource | null = null;
let retryMs = 1000;

function connect(): void {
  source?.close();
  const es = new EventSource('/api/stream');
  source = es;
  es.addEventListener('open', () => {
    connected = true;
    retryMs = 1000;
    lastMessageAt = Date.now();
    render();
  });
  es.addEventListener('view', (ev) => {
    lastMessageAt = Date.now();
    const msg = ev as MessageEvent<string>;
    const before = view;
    view = JSON.parse(msg.data) as BoardView;
    version = msg.lastEventId || version;
    connected = true;
    render();
    // A new fire or new readings: the charts catch up (at most every 20 s).
    if (Date.now() - seriesLoadedAt > 20_000 || view.fires.length !== before.fires.length) void loadSeries();
  });
  es.addEventListener('ping', () => {
    lastMessageAt = Date.now();
  });
  es.addEventListener('error', () => {
    connected = false;
    render();
    // EventSource retries by itself after a dropped stream; an HTTP error (401 after sign-out, 503)
    // closes it for good, so the page checks its session and tries again with a growing delay.
    if (es.readyState === EventSource.CLOSED) void recover();
  });
}

async function recover(): Promise<void> {
  await new Promise((r) => setTimeout(r, retryMs));
  retryMs = Math.min(retryMs * 2, 15_000);
  try {
    const res = await fetch('/api/session', { cache: 'no-store' });
    if (res.status === 401 || (res.ok && (await res.json()) === null)) {
      location.href = '/login';
      return;
    }
  } catch {
    // server or network still away: try again
  }
  connect();
}

// A stream that went silent (no view and no ping for 40 s) is dead even if the socket says otherwise.
setInterval(() => {
  if (Date.now() - lastMessageAt > 40_000) {
    connected = false;
    render();
    lastMessageAt = Date.now();
    connect();
  }
  tick();
}, 1000);
// Durations and ages move on between updates.
setInterval(() => render(), 15_000);

// ---- acknowledgements -----------------------------------------------------------------------------

document.addEventListener('click', (ev) => {
  const target = ev.target as HTMLElement;
  const ackButton = target.closest<HTMLButtonElement>('[data-ack]');
  if (ackButton && canAck) {
    const alertId = ackButton.dataset.ack ?? '';
    if (!window.confirm(t(lang).confirmAck)) return;
    void acknowledge(alertId);
    return;
  }
  const zone = target.closest('[data-zone]')?.getAttribute('data-zone');
  const node = target.closest('[data-node]')?.getAttribute('data-node');
  if (node && target.closest('.node, .node-pick, .node-row')) selection = { node };
  else if (zone && target.closest('.zone-area, .zone-pick, .zone-row, .fire-card')) selection = { zone };
  else return;
  render();
  void loadSeries();
});

async function acknowledge(alertId: string): Promise<void> {
  pendingAcks.add(alertId);
  ackErrors.delete(alertId);
  render();
  try {
    const res = await fetch('/api/ack', { method: 'POST', headers: { 'content-type': 'application/json', 'csrf-token': csrf }, body: JSON.stringify({ alertId }) });
    if (res.status === 403 && /csrf/i.test(await res.clone().text())) {
      location.reload();
      return;
    }
    if (!res.ok) ackErrors.set(alertId, ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`);
  } catch (err) {
    ackErrors.set(alertId, (err as Error).message);
  } finally {
    pendingAcks.delete(alertId);
    render();
  }
}

// ---- 24-hour charts ----------------------------------------------------------------------------------

const PALETTE = ['#c62828', '#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#5d4037', '#ad1457'];

let seriesLoadedAt = 0;

async function loadSeries(): Promise<void> {
  seriesLoadedAt = Date.now();
  const query = 'zone' in selection ? `zone=${encodeURIComponent(selection.zone)}` : `node=${encodeURIComponent(selection.node)}`;
  try {
    const res = await fetch(`/api/series?${query}`, { cache: 'no-store' });
    series = res.ok ? ((await res.json()) as Series) : null;
  } catch {
    series = null;
  }
  drawCharts();
}

function drawCharts(): void {
  const w = t(lang);
  const title = document.getElementById('chart-title');
  if (title) {
    if ('zone' in selection) {
      const sel = selection.zone;
      const z = view.zones.find((x) => x.id === sel);
      title.textContent = z ? `${w.zoneKind[z.kind]} ${z.name}` : sel;
    } else title.textContent = selection.node;
  }
  const box = document.getElementById('charts');
  if (!box) return;
  for (const c of charts.splice(0)) c.destroy();
  const has = series?.nodes.some((n) => n.temperature.some((v) => v !== null));
  if (!series || !has) {
    box.innerHTML = `<p class="muted">${escapeHtml(w.noData)}</p>`;
    return;
  }
  box.innerHTML = '<div class="chart" data-chart="temperature"></div><div class="chart" data-chart="humidity"></div><div class="chart" data-chart="smoke"></div>';
  const tz = view.site.timezone;
  const xs = series.times.map((ms) => ms / 1000);
  const kinds = [
    ['temperature', w.temperature],
    ['humidity', w.humidity],
    ['smoke', w.smoke],
  ] as const;
  for (const [kind, label] of kinds) {
    const el = box.querySelector<HTMLElement>(`[data-chart="${kind}"]`);
    if (!el) continue;
    const width = Math.max(260, Math.floor(el.getBoundingClientRect().width || box.clientWidth / 3));
    const data = [xs, ...series.nodes.map((n) => n[kind])] as uPlot.AlignedData;
    const opts: uPlot.Options = {
      title: label,
      width,
      height: Math.max(150, Math.min(230, Math.floor((box.clientHeight || 230) - 40))),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
      legend: { show: series.nodes.length <= 6 },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#444', grid: { stroke: '#0001' }, values: (_u, splits) => splits.map((s) => clock(s * 1000, tz)) },
        { stroke: '#444', grid: { stroke: '#0001' }, size: 50 },
      ],
      // Gaps stay gaps (a silent node must not look steady); sparse series show their points.
      series: [{}, ...series.nodes.map((n, i) => ({ label: n.nodeId, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false, points: { show: n[kind].filter((v) => v !== null).length < 60, size: 4 } }))],
    };
    charts.push(new uPlot(opts, data, el));
  }
}

let resizeTimer: number | undefined;
window.addEventListener('resize', () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(drawCharts, 200);
});

document.documentElement.lang = lang;
layout();
render();
connect();
void loadSeries();
// The charts follow new readings.
setInterval(() => void loadSeries(), 60_000);
