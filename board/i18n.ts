// The board's words in Vietnamese (default) and English, and the formats of times and numbers in the
// site's time zone. Shared by the page (bundled), the server's sign-in page and the bulletin.
import { DANGER_LEVEL_INFO } from '../contracts/danger-levels.ts';
import type { DangerLevel } from '../contracts/payloads.ts';

export type Lang = 'vi' | 'en';

const VI = {
  title: 'Bảng tình hình cháy rừng',
  map: 'Bản đồ cấp dự báo cháy rừng',
  fires: 'Đám cháy',
  noFires: 'Không có đám cháy nào được phát hiện',
  zones: 'Cấp dự báo theo xã, phường',
  sensors: 'Trạm cảm biến',
  charts: 'Số liệu 24 giờ qua',
  otherAlerts: 'Cảnh báo khác đang mở',
  official: 'Chính thức',
  provisional: 'Tạm tính',
  noLevel: 'Chưa có',
  levelWord: 'Cấp',
  notToday: 'số liệu ngày',
  quality: { ok: 'đủ số liệu', estimated: 'ước tính', unavailable: 'không có số liệu' },
  fireState: { suspected: 'NGHI CHÁY', confirmed: 'CHÁY', cleared: 'Cảm biến hết dấu hiệu cháy — cần xác minh tại hiện trường' },
  timeline: { 'fire-suspected': 'Nghi cháy', 'fire-confirmed': 'Xác nhận cháy', 'fire-cleared': 'Hết dấu hiệu', 'fire-signal-lost': 'Mất tín hiệu', other: 'Sự kiện' },
  signalLost: 'MẤT TÍN HIỆU: các trạm gần đám cháy không còn gửi số liệu. Chưa biết lửa đã tắt, kiểm tra tại chỗ.',
  confirmedBy: { neighbour: 'hai trạm lân cận cùng phát hiện', persistence: 'dấu hiệu kéo dài' },
  sinceFirst: 'từ dấu hiệu đầu tiên',
  nodesInvolved: 'Trạm liên quan',
  texted: 'Đã nhắn tin',
  delivery: { queued: 'chờ gửi', sending: 'đang gửi', sent: 'đã gửi', delivered: 'đã nhận', undelivered: 'không tới', failed: 'lỗi', acknowledged: 'đã xác nhận', cancelled: 'huỷ (đã xác nhận)' },
  step: 'Bước chuyển cấp',
  nextStep: 'bước tiếp theo lúc',
  noEscalation: 'không chuyển cấp',
  ackedBy: 'Đã xác nhận bởi',
  ackVia: { link: 'liên kết SMS', modem: 'tin nhắn trả lời', api: 'API', board: 'bảng tình hình' },
  notAcked: 'Chưa ai xác nhận',
  acknowledge: 'Xác nhận đã nhận cảnh báo',
  acknowledging: 'Đang gửi…',
  ackFailed: 'Không xác nhận được',
  confirmAck: 'Xác nhận đã nhận cảnh báo này? Việc nhắc lại và chuyển cấp sẽ dừng.',
  alertKind: { 'fire-suspected': 'Nghi cháy', 'fire-confirmed': 'Cháy rừng', 'fire-signal-lost': 'Mất tín hiệu gần đám cháy', 'level-changed': 'Cấp dự báo tăng', 'node-offline': 'Trạm mất kết nối', 'node-fault': 'Trạm hỏng cảm biến' },
  alertStatus: { active: 'đang mở', acknowledged: 'đã xác nhận', resolved: 'đã đóng' },
  health: { ok: 'Hoạt động', stale: 'Chậm số liệu', offline: 'Mất kết nối', fault: 'Lỗi cảm biến', unknown: 'Chưa có số liệu' },
  freshness: { ok: 'Đủ số liệu', partial: 'Thiếu một phần', stale: 'Không có số liệu mới', none: 'Chưa có số liệu' },
  reporting: 'trạm gửi số liệu',
  lastData: 'Số liệu mới nhất',
  problemNodes: 'Trạm cần kiểm tra',
  allNodesOk: 'Tất cả trạm đang gửi số liệu',
  temperature: 'Nhiệt độ (°C)',
  humidity: 'Độ ẩm (%)',
  smoke: 'Khói (giá trị cảm biến)',
  chooseZone: 'Chọn xã/phường hoặc trạm trên bản đồ',
  noData: 'Không có số liệu',
  connected: 'Trực tuyến',
  reconnecting: 'Mất kết nối máy chủ — đang kết nối lại',
  dataAsOf: 'số liệu lúc',
  sourcesDown: { mqtt: 'Mất kết nối MQTT', alerts: 'Không đọc được dịch vụ cảnh báo', readings: 'Không đọc được số liệu cảm biến' },
  kiosk: 'Màn hình xem',
  signOut: 'Đăng xuất',
  signIn: 'Đăng nhập',
  user: 'Mã thành viên',
  password: 'Mật khẩu',
  badLogin: 'Sai mã thành viên hoặc mật khẩu.',
  tooMany: 'Thử quá nhiều lần. Hãy đợi một phút.',
  signInNote: 'Dành cho Ban Chỉ huy PCCCR và Kiểm lâm. Màn hình treo tường dùng đường dẫn xem riêng.',
  estimatedAreas: 'Vùng ước tính theo vị trí trạm, không phải địa giới hành chính',
  legendLevels: 'Cấp dự báo',
  legendNodes: 'Trạm',
  bulletin: 'Bản tin',
  drills: 'Diễn tập',
  sample: 'Danh sách mẫu',
  ago: { s: 'giây trước', m: 'phút trước', h: 'giờ trước', d: 'ngày trước' },
  p: 'P',
  zoneKind: { phuong: 'Phường', xa: 'Xã' },
  language: 'English',
} as const;

type Dict = { [K in keyof typeof VI]: (typeof VI)[K] extends string ? string : { [P in keyof (typeof VI)[K]]: string } };

const EN: Dict = {
  title: 'Forest fire situation board',
  map: 'Fire-danger map',
  fires: 'Fires',
  noFires: 'No fire detected',
  zones: 'Danger level by ward and commune',
  sensors: 'Sensor nodes',
  charts: 'Last 24 hours',
  otherAlerts: 'Other open alerts',
  official: 'Official',
  provisional: 'Provisional',
  noLevel: 'None yet',
  levelWord: 'Level',
  notToday: 'data of',
  quality: { ok: 'complete data', estimated: 'estimated', unavailable: 'no data' },
  fireState: { suspected: 'SUSPECTED FIRE', confirmed: 'FIRE', cleared: 'Sensors no longer see the fire — check on the ground' },
  timeline: { 'fire-suspected': 'Suspected', 'fire-confirmed': 'Confirmed', 'fire-cleared': 'No more signs', 'fire-signal-lost': 'Signal lost', other: 'Event' },
  signalLost: 'SIGNAL LOST: the nodes near the fire went silent. Nobody knows whether it is out; check on the ground.',
  confirmedBy: { neighbour: 'two neighbouring nodes', persistence: 'persistent signs' },
  sinceFirst: 'since the first sign',
  nodesInvolved: 'Nodes',
  texted: 'Texted',
  delivery: { queued: 'queued', sending: 'sending', sent: 'sent', delivered: 'delivered', undelivered: 'undelivered', failed: 'failed', acknowledged: 'acknowledged', cancelled: 'cancelled (acknowledged)' },
  step: 'Escalation step',
  nextStep: 'next at',
  noEscalation: 'no escalation',
  ackedBy: 'Acknowledged by',
  ackVia: { link: 'SMS link', modem: 'SMS reply', api: 'API', board: 'situation board' },
  notAcked: 'Nobody has acknowledged yet',
  acknowledge: 'Acknowledge alert',
  acknowledging: 'Sending…',
  ackFailed: 'Could not acknowledge',
  confirmAck: 'Acknowledge this alert? Repeats and escalation will stop.',
  alertKind: { 'fire-suspected': 'Suspected fire', 'fire-confirmed': 'Forest fire', 'fire-signal-lost': 'Signal lost near a fire', 'level-changed': 'Danger level up', 'node-offline': 'Node offline', 'node-fault': 'Sensor fault' },
  alertStatus: { active: 'open', acknowledged: 'acknowledged', resolved: 'closed' },
  health: { ok: 'Working', stale: 'Late data', offline: 'Offline', fault: 'Sensor fault', unknown: 'No data yet' },
  freshness: { ok: 'Complete', partial: 'Partly missing', stale: 'No fresh data', none: 'No data yet' },
  reporting: 'nodes reporting',
  lastData: 'Latest data',
  problemNodes: 'Nodes to check',
  allNodesOk: 'All nodes are reporting',
  temperature: 'Temperature (°C)',
  humidity: 'Humidity (%)',
  smoke: 'Smoke (sensor value)',
  chooseZone: 'Choose a ward/commune or a node on the map',
  noData: 'No data',
  connected: 'Live',
  reconnecting: 'Server connection lost — reconnecting',
  dataAsOf: 'data as of',
  sourcesDown: { mqtt: 'MQTT connection lost', alerts: 'Alerts service unreachable', readings: 'Sensor readings unreachable' },
  kiosk: 'Wall screen',
  signOut: 'Sign out',
  signIn: 'Sign in',
  user: 'Member id',
  password: 'Password',
  badLogin: 'Wrong member id or password.',
  tooMany: 'Too many attempts. Wait a minute.',
  signInNote: 'For the fire command boards and the forest rangers. Wall screens use their own view link.',
  estimatedAreas: 'Areas estimated from node positions, not administrative borders',
  legendLevels: 'Danger level',
  legendNodes: 'Nodes',
  bulletin: 'Bulletin',
  drills: 'Drills',
  sample: 'Sample roster',
  ago: { s: 's ago', m: 'min ago', h: 'h ago', d: 'd ago' },
  p: 'P',
  zoneKind: { phuong: 'Ward', xa: 'Commune' },
  language: 'Tiếng Việt',
};

export function t(lang: Lang): Dict {
  return lang === 'en' ? EN : (VI as unknown as Dict);
}

/** Conventional display colours of the five levels (text colour chosen for contrast). */
export const LEVEL_COLOURS: Record<DangerLevel, { fill: string; text: string }> = {
  1: { fill: '#2e7d32', text: '#ffffff' },
  2: { fill: '#1565c0', text: '#ffffff' },
  3: { fill: '#f9c80e', text: '#1b1b1b' },
  4: { fill: '#ef6c00', text: '#ffffff' },
  5: { fill: '#c62828', text: '#ffffff' },
};
export const NO_LEVEL_COLOUR = { fill: '#9e9e9e', text: '#1b1b1b' };

export function levelName(level: DangerLevel, lang: Lang): string {
  const info = DANGER_LEVEL_INFO[level];
  return lang === 'en' ? `Level ${info.roman} – ${info.nameEn.toLowerCase()}` : info.label;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** HH:mm in the site's time zone. */
export function clock(iso: string | number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

/** dd/MM HH:mm in the site's time zone. */
export function dateTime(iso: string | number, timeZone: string): string {
  const d = new Date(iso);
  const day = new Intl.DateTimeFormat('en-GB', { timeZone, day: '2-digit', month: '2-digit' }).format(d);
  return `${day} ${clock(iso, timeZone)}`;
}

/** dd/MM/yyyy of a YYYY-MM-DD date. */
export function vnDate(date: string): string {
  const [y, m, d] = date.split('-');
  return `${d}/${m}/${y}`;
}

/** "5 phút trước" / "5 min ago". */
export function ago(iso: string | number, now: number, lang: Lang): string {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  const w = t(lang).ago;
  if (s < 60) return `${s} ${w.s}`;
  if (s < 3600) return `${Math.floor(s / 60)} ${w.m}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} ${w.h}`;
  return `${Math.floor(s / 86_400)} ${w.d}`;
}

/** "1 giờ 05 phút" style duration. */
export function duration(ms: number, lang: Lang): string {
  const m = Math.max(0, Math.floor(ms / 60_000));
  const h = Math.floor(m / 60);
  const mm = String(m % 60).padStart(2, '0');
  if (lang === 'en') return h > 0 ? `${h} h ${mm} min` : `${m} min`;
  return h > 0 ? `${h} giờ ${mm} phút` : `${m} phút`;
}

export function formatP(p: number | null): string {
  if (p === null) return '–';
  return Math.round(p).toLocaleString('vi-VN');
}
