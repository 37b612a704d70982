// Drill pages of the board (README "Drills"), in Vietnamese: the list with the form that starts a
// drill, and a drill's report — per unit and member: texted, delivered, acknowledged (when, how),
// never; median and worst time to the first acknowledgement; escalation steps; the zone's trend —
// as HTML (also printed to PDF by board/pdf.ts) and CSV. Pure.
import { DRILL_KINDS, type DrillKind, type DrillReport, type DrillSummary, type SkippedDrillSlot } from '../contracts/alerts-api.ts';
import type { Site, Zone } from '../contracts/site.ts';
import { dateTime, escapeHtml } from './i18n.ts';

export const DRILL_KIND_VI: Record<DrillKind, string> = {
  'fire-confirmed': 'Cháy rừng (đã xác nhận)',
  'fire-suspected': 'Nghi cháy',
  level: 'Cấp dự báo lên IV',
};
/** Who ended a drill, as the report says it. */
function endedByVi(by: string | null): string {
  if (by === null) return '';
  if (by === 'drill time over') return ' (tự kết thúc khi liên kết hết hạn)';
  if (by === 'api') return ' (dòng lệnh)';
  return ` (${by})`;
}
const CHANNEL_VI: Record<string, string> = { link: 'liên kết SMS', modem: 'nhắn lại (modem)', api: 'API', board: 'bảng chỉ huy' };

/** Seconds as "1 ph 05 s" (the report's times to acknowledge). */
export function seconds(s: number | null): string {
  if (s === null) return '—';
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  return m > 0 ? `${m} ph ${String(total % 60).padStart(2, '0')} s` : `${total} s`;
}

const STYLE = `body{font-family:"Noto Sans","DejaVu Sans",system-ui,sans-serif;margin:24px;color:#1b1b1b}h1{color:#0d47a1;font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.4em}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left}th{background:#eef3fb}.never{color:#b71c1c;font-weight:600}
.banner{background:#0d47a1;color:#fff;padding:6px 10px;font-weight:700;display:inline-block;border-radius:4px}form.inline{display:inline}`;

function shell(title: string, body: string): string {
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

const zoneName = (site: Site, zoneId: string) => site.zones.find((z) => z.id === zoneId)?.name ?? zoneId;

/** A scheduled drill (the site file's `drills:`) and its next start (Unix ms; null = never again). */
export interface ScheduledDrillRun {
  zone: string;
  kind: DrillKind;
  depth: 'alert' | 'sensor';
  cron: string;
  dryRun: boolean;
  next: number | null;
}

/** What a member reads after asking for a sensor drill: it starts when the drill player has planned its plume. */
export function sensorDrillRequestedVi(drillId: string): string {
  return `Đã yêu cầu diễn tập cảm biến ${drillId}: khói mô phỏng sẽ được phát tại các trạm đo của khu vực trong giây lát; tin nhắn DIỄN TẬP chỉ gửi khi hệ thống phát hiện đám cháy mô phỏng. Lần diễn tập hiện trong danh sách dưới đây khi bắt đầu (tải lại trang).`;
}

/** alerts/drill-schedule.ts's reason in Vietnamese where it is the usual one (a real alert of the zone was open). */
function skipReasonVi(reason: string): string {
  const real = /^a real alert of \S+ is open: (.*)$/.exec(reason);
  return real ? `Khu vực đang có cảnh báo thật (${real[1]})` : reason;
}

/** The sensor nodes as the form's ignition choices, grouped by zone in the zones' order (zones without nodes left out). */
function ignitionNodeOptions(site: Site, zones: readonly Zone[]): string {
  return zones
    .map((z) => {
      const nodes = site.nodes.filter((n) => n.zone === z.id);
      if (nodes.length === 0) return '';
      return `<optgroup label="${escapeHtml(z.name)}">${nodes.map((n) => `<option value="${escapeHtml(n.id)}">${escapeHtml(n.id)}${n.place ? ` (${escapeHtml(n.place)})` : ''}</option>`).join('')}</optgroup>`;
    })
    .join('');
}

/**
 * Why the alerts service refused to start a drill (its 422 reason, alerts/drill-requests.ts and alerts/http.ts),
 * in Vietnamese for the member who filled in the form; a reason not known here is shown as it came.
 */
export function drillRefusalVi(site: Site, reason: string): string {
  const outside = /^node (\S+) is not in zone (\S+)$/.exec(reason);
  if (outside) return `Trạm ${outside[1]} không thuộc khu vực ${zoneName(site, outside[2] ?? '')}: chọn một trạm của khu vực này, hoặc "Trạm đầu tiên của khu vực". Chưa bắt đầu diễn tập.`;
  const noNodes = /^zone (\S+) has no sensor nodes/.exec(reason);
  if (noNodes) return `Khu vực ${zoneName(site, noNodes[1] ?? '')} không có trạm đo nên không diễn tập cảm biến được: chọn hình thức "Tin nhắn". Chưa bắt đầu diễn tập.`;
  const unknown = /^unknown zone (\S+)$/.exec(reason);
  if (unknown) return `Dịch vụ cảnh báo không biết khu vực ${unknown[1]} (tệp cấu hình của hai dịch vụ khác nhau?). Chưa bắt đầu diễn tập.`;
  return `Dịch vụ cảnh báo không bắt đầu diễn tập: ${reason}`;
}

/** The list of drills, the site file's schedule and, for a signed-in member, the form that starts one. */
export function renderDrillListHtml(site: Site, drills: readonly DrillSummary[], csrf: string | null, message: string | null = null, schedule: readonly ScheduledDrillRun[] = [], skipped: readonly SkippedDrillSlot[] = []): string {
  const tz = site.site.timezone;
  // Slots the schedule did not start, and why (a real alert of the zone was open): the board says so.
  const skippedHtml = skipped.length
    ? `<h3>Lần diễn tập theo lịch bị bỏ qua</h3><table class="skipped-slots"><thead><tr><th>Lịch lúc</th><th>Khu vực</th><th>Lý do</th></tr></thead><tbody>${skipped
        .map((s) => `<tr><td>${escapeHtml(dateTime(s.slotAt, tz))}</td><td>${escapeHtml(zoneName(site, s.zoneId))}</td><td>${escapeHtml(skipReasonVi(s.reason))}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const scheduled = schedule.length
    ? `<h2>Lịch diễn tập tự động</h2><p>Theo tệp cấu hình; không bắt đầu khi khu vực đang có cảnh báo thật.</p><table><thead><tr><th>Khu vực</th><th>Tình huống</th><th>Lịch (cron)</th><th>Lần tới</th></tr></thead><tbody>${schedule
        .map((d) => `<tr><td>${escapeHtml(zoneName(site, d.zone))}</td><td>${d.depth === 'sensor' ? 'Cảm biến (khói mô phỏng)' : escapeHtml(DRILL_KIND_VI[d.kind])}${d.dryRun ? ' (chạy thử)' : ''}</td><td><code>${escapeHtml(d.cron)}</code></td><td>${d.next === null ? '—' : escapeHtml(dateTime(d.next, tz))}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const hotspotsFirst = [...site.zones].sort((a, b) => Number(b.hotspot ?? false) - Number(a.hotspot ?? false));
  const form = csrf
    ? `<h2>Bắt đầu diễn tập</h2><form method="post" action="/drills"><input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">` +
      `<label>Khu vực <select name="zoneId">${hotspotsFirst.map((z) => `<option value="${escapeHtml(z.id)}">${escapeHtml(z.name)}</option>`).join('')}</select></label> ` +
      `<label>Tình huống <select name="kind">${DRILL_KINDS.map((k) => `<option value="${k}">${escapeHtml(DRILL_KIND_VI[k])}</option>`).join('')}</select></label> ` +
      `<label>Hình thức <select name="depth"><option value="alert">Tin nhắn (cảnh báo ngay)</option><option value="sensor">Cảm biến (khói mô phỏng qua các trạm đo, cảnh báo khi phát hiện)</option></select></label> ` +
      `<label>Tốc độ đám cháy mô phỏng <input type="number" name="speed" min="1" max="10000" step="1" placeholder="1" inputmode="numeric"> lần (chỉ cảm biến; trống = thời gian thực)</label> ` +
      `<label>Điểm cháy gần trạm <select name="node"><option value="">Trạm đầu tiên của khu vực</option>${ignitionNodeOptions(site, hotspotsFirst)}</select> (chỉ cảm biến; trạm phải thuộc khu vực đã chọn)</label> ` +
      `<label><input type="checkbox" name="dryRun" value="on"> Chạy thử (ghi lại, không gửi SMS)</label> <button type="submit">Bắt đầu</button></form>`
    : '';
  const rows = [...drills]
    .reverse()
    .map(
      (d) =>
        `<tr><td><a href="/drills/${escapeHtml(d.drillId)}">${escapeHtml(dateTime(d.startedAt, tz))}</a></td><td>${escapeHtml(zoneName(site, d.zoneId))}</td><td>${escapeHtml(DRILL_KIND_VI[d.kind])}${d.dryRun ? ' (chạy thử)' : ''}</td>` +
        `<td>${d.acknowledged}/${d.texted}</td><td>${seconds(d.medianResponseS)}</td><td>${seconds(d.worstResponseS)}</td><td>${d.endedAt ? 'đã kết thúc' : 'đang diễn ra'}</td></tr>`,
    )
    .join('');
  return shell(
    'Diễn tập',
    `<p><a href="/">← Bảng tình huống</a></p><h1>Diễn tập chữa cháy rừng</h1>${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}${form}${scheduled}${skippedHtml}<h2>Các lần diễn tập</h2>` +
      `<table><thead><tr><th>Bắt đầu</th><th>Khu vực</th><th>Tình huống</th><th>Đã xác nhận / đã nhắn</th><th>Trung vị</th><th>Chậm nhất</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="7">Chưa có lần diễn tập nào.</td></tr>'}</tbody></table>`,
  );
}

/** A drill's report; with a CSRF token (a signed-in member) and while the drill is open: the buttons that acknowledge it and end it. */
export function renderDrillReportHtml(site: Site, r: DrillReport, opts: { csrf?: string | null; print?: boolean } = {}): string {
  const tz = site.site.timezone;
  const d = r.drill;
  const when = (t: number | null) => (t === null ? '—' : escapeHtml(dateTime(t, tz)));
  const head =
    `<p class="banner">DIỄN TẬP — không phải cháy thật</p><h1>Báo cáo diễn tập: ${escapeHtml(zoneName(site, d.zoneId))} — ${escapeHtml(DRILL_KIND_VI[d.kind])}${d.dryRun ? ' (chạy thử, không gửi SMS)' : ''}</h1>` +
    `<p>Bắt đầu ${when(d.startedAt)} (${escapeHtml(d.startedBy)})${d.endedAt ? `, kết thúc ${when(d.endedAt)}${escapeHtml(endedByVi(d.endedBy))}` : ', đang diễn ra'}. Mã: ${escapeHtml(d.drillId)}</p>` +
    `<p>Đã nhắn <b>${d.texted}</b> người, đã xác nhận <b>${d.acknowledged}</b>; thời gian đến khi xác nhận: trung vị <b>${seconds(d.medianResponseS)}</b>, chậm nhất <b>${seconds(d.worstResponseS)}</b>; số bước chuyển cấp: <b>${d.escalationStepsReached}</b>.</p>`;
  const actions =
    opts.print || !opts.csrf
      ? ''
      : `<p><a href="/drills/${escapeHtml(d.drillId)}.csv">Tải CSV</a> · <a href="/drills/${escapeHtml(d.drillId)}.pdf">PDF</a>${
          d.endedAt
            ? ''
            : ` · <form class="inline" method="post" action="/drills/${escapeHtml(d.drillId)}/ack"><input type="hidden" name="_csrf" value="${escapeHtml(opts.csrf)}"><button type="submit">Tôi đã nhận (xác nhận)</button></form>` +
              ` · <form class="inline" method="post" action="/drills/${escapeHtml(d.drillId)}/end"><input type="hidden" name="_csrf" value="${escapeHtml(opts.csrf)}"><button type="submit" id="end-drill">Kết thúc diễn tập</button></form>`
        }</p>`;
  // A sensor drill: the detection timeline (times of fire counted on the readings' clock, whatever the plume's speed).
  const s = r.sensor;
  const outcomeVi = { running: 'đang chờ phát hiện', detected: 'đã phát hiện', 'not-detected': 'KHÔNG PHÁT HIỆN' } as const;
  const sensor = s
    ? `<h2>Diễn tập cảm biến — ${escapeHtml(outcomeVi[s.outcome])}</h2><p>Khói mô phỏng tại ${s.nodes.length} trạm của khu vực; điểm cháy cách trạm ${escapeHtml(s.ignitionNode)} 120 m, lúc ${when(s.ignitionAt)}; tốc độ ×${s.speed}.</p>` +
      `<table><thead><tr><th>Bước</th><th>Lúc</th><th>Sau khi bắt cháy</th></tr></thead><tbody>` +
      `<tr><td>Bắt đầu phát khói mô phỏng</td><td>${when(s.plumeInjectedAt)}</td><td></td></tr>` +
      `<tr><td>Số đo diễn tập đầu tiên được xử lý</td><td>${when(s.firstReadingAt)}</td><td></td></tr>` +
      `<tr><td>Nghi cháy (phát hiện)</td><td>${when(s.suspectedAt)}</td><td>${seconds(s.detectionS)}</td></tr>` +
      `<tr><td>Xác nhận cháy</td><td>${when(s.confirmedAt)}</td><td>${seconds(s.confirmationS)}</td></tr>` +
      `<tr><td>Tin SMS diễn tập đầu tiên</td><td>${when(s.firstSmsAt)}</td><td></td></tr></tbody></table>` +
      (s.outcome === 'not-detected' ? `<p role="alert">Hệ thống không phát hiện đám cháy mô phỏng trước ${when(s.notDetectedAfter)}: không ai được nhắn tin.</p>` : '')
    : '';
  const units = r.units
    .map((u) => {
      const members = u.members
        .map(
          (m) =>
            `<tr><td>${escapeHtml(m.name)}${m.leader ? ' (tổ trưởng)' : ''}</td><td>${when(m.textedAt)}</td><td>${m.delivered === null ? '—' : m.delivered ? 'đã đến' : 'không đến'}</td>` +
            `<td>${m.ackedAt === null ? '<span class="never">chưa xác nhận</span>' : when(m.ackedAt)}</td><td>${m.ackChannel ? escapeHtml(CHANNEL_VI[m.ackChannel] ?? m.ackChannel) : ''}</td><td>${seconds(m.responseS)}</td><td>${escapeHtml(m.steps.join(', '))}${m.yieldedToReal ? ' — dừng: có cảnh báo thật' : ''}</td></tr>`,
        )
        .join('');
      return (
        `<h2>${escapeHtml(u.name)}</h2><p>Đã nhắn ${u.texted}, đã xác nhận ${u.acknowledged}, chưa xác nhận ${u.neverAcknowledged}; trung vị ${seconds(u.medianResponseS)}, chậm nhất ${seconds(u.worstResponseS)}.</p>` +
        `<table><thead><tr><th>Thành viên</th><th>Nhắn lúc</th><th>Báo nhận</th><th>Xác nhận lúc</th><th>Qua</th><th>Sau</th><th>Tin đã gửi</th></tr></thead><tbody>${members}</tbody></table>`
      );
    })
    .join('');
  const trend = r.previous.length
    ? `<h2>So với các lần diễn tập trước tại ${escapeHtml(zoneName(site, d.zoneId))}</h2><table><thead><tr><th>Ngày</th><th>Tình huống</th><th>Đã xác nhận / đã nhắn</th><th>Trung vị</th><th>Chậm nhất</th><th>Phát hiện sau</th></tr></thead><tbody>${[...r.previous, d]
        .map((p) => `<tr><td>${when(p.startedAt)}${p === d ? ' (lần này)' : ''}</td><td>${escapeHtml(DRILL_KIND_VI[p.kind])}</td><td>${p.acknowledged}/${p.texted}</td><td>${seconds(p.medianResponseS)}</td><td>${seconds(p.worstResponseS)}</td><td>${p.sensorOutcome === 'not-detected' ? 'không phát hiện' : p.sensorOutcome ? seconds(p.detectionS) : '—'}</td></tr>`)
        .join('')}</tbody></table>`
    : '<h2>So với các lần trước</h2><p>Đây là lần diễn tập đầu tiên của khu vực này.</p>';
  return shell(`Báo cáo diễn tập ${d.drillId}`, `${opts.print ? '' : '<p><a href="/drills">← Diễn tập</a></p>'}${head}${actions}${sensor}${units}${trend}`);
}

const csvCell = (v: string | number | boolean | null): string => {
  const s = v === null ? '' : String(v);
  // Quote when needed; a leading = + - @ would be read as a formula by a spreadsheet.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** One row per member: unit, member, texted/delivered/acknowledged times (ISO), channel, seconds; UTF-8 with BOM for spreadsheets. */
export function drillReportCsv(r: DrillReport): string {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const header = ['drill_id', 'zone', 'unit', 'unit_name', 'member_id', 'member_name', 'leader', 'texted_at', 'delivered', 'delivered_at', 'acknowledged_at', 'ack_channel', 'response_s', 'steps', 'stopped_by_real_alert'];
  // A sensor drill's detection figures on every row (seconds of fire after ignition).
  const s = r.sensor;
  const sensorCells = s ? [s.outcome, s.detectionS, s.confirmationS] : [];
  const lines = [(s ? [...header, 'sensor_outcome', 'detection_s', 'confirmation_s'] : header).join(',')];
  for (const u of r.units) {
    for (const m of u.members) {
      lines.push(
        [r.drill.drillId, r.drill.zoneId, u.unit, u.name, m.memberId, m.name, m.leader, iso(m.textedAt), m.delivered, iso(m.deliveredAt), iso(m.ackedAt), m.ackChannel, m.responseS, m.steps.join(' '), m.yieldedToReal, ...sensorCells].map(csvCell).join(','),
      );
    }
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
