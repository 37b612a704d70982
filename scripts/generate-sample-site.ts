// Generates config/lai-chau.site.yaml: the real zones and counts of Lai Châu city with an
// ILLUSTRATIVE roster (the real one is not public). Phones use +8400…, which no Vietnamese
// operator assigns, so a misconfigured deployment cannot text a stranger.
// Run: node --import tsx scripts/generate-sample-site.ts > config/lai-chau.site.yaml
import { Document, isMap, isScalar, visit } from 'yaml';
import { SENSOR_KINDS, type SiteInput } from '../contracts/site.ts';

type SensorKind = (typeof SENSOR_KINDS)[number];

const zones = [
  { id: 'quyet-thang', name: 'Quyết Thắng', kind: 'phuong', gsoCode: '03386', hotspot: true, lat: 22.405, lon: 103.44, nodes: 6, teams: 4, elevation: 980 },
  { id: 'tan-phong', name: 'Tân Phong', kind: 'phuong', gsoCode: '03387', hotspot: false, lat: 22.386, lon: 103.47, nodes: 3, teams: 1, elevation: 930 },
  { id: 'quyet-tien', name: 'Quyết Tiến', kind: 'phuong', gsoCode: '03388', hotspot: false, lat: 22.398, lon: 103.452, nodes: 3, teams: 1, elevation: 950 },
  { id: 'doan-ket', name: 'Đoàn Kết', kind: 'phuong', gsoCode: '03389', hotspot: false, lat: 22.392, lon: 103.462, nodes: 3, teams: 1, elevation: 940 },
  { id: 'nam-loong', name: 'Nậm Loỏng', kind: 'xa', gsoCode: '03403', hotspot: true, lat: 22.41, lon: 103.48, nodes: 7, teams: 7, elevation: 1020 },
  { id: 'dong-phong', name: 'Đông Phong', kind: 'phuong', gsoCode: '03408', hotspot: false, lat: 22.378, lon: 103.482, nodes: 3, teams: 2, elevation: 960 },
  { id: 'san-thang', name: 'San Thàng', kind: 'xa', gsoCode: '03409', hotspot: true, lat: 22.365, lon: 103.47, nodes: 8, teams: 8, elevation: 1050 },
] as const;

// Team sizes sum to 302 over 24 teams; commune boards to 192 over 7; city board 23.
const TEAM_SIZES = [13, 12, 13, 12, 13, 13, 13, 12, 13, 12, 13, 12, 13, 12, 13, 13, 13, 12, 13, 12, 13, 12, 13, 12];
const BOARD_SIZES = [28, 28, 28, 27, 27, 27, 27];
const CITY_BOARD_SIZE = 23;

const FAMILY = ['Lò', 'Tòng', 'Lường', 'Giàng', 'Sùng', 'Vàng', 'Hoàng', 'Nguyễn', 'Trần', 'Phạm', 'Lê', 'Đỗ', 'Lý', 'Tẩn', 'Chẻo'];
const MIDDLE = ['Văn', 'Thị', 'A', 'Seo', 'Đức', 'Minh', 'Thanh'];
const GIVEN = ['An', 'Bình', 'Chiến', 'Dũng', 'Giang', 'Hà', 'Hùng', 'Khánh', 'Lâm', 'Mai', 'Nam', 'Phong', 'Quân', 'Sơn', 'Thắng', 'Tuấn', 'Vinh', 'Xuân', 'Páo', 'Chứ', 'Dế', 'Lù', 'Súa', 'Pó'];

let serial = 0;
function member(prefix: string, index: number, role?: string) {
  serial += 1;
  const name = `${FAMILY[serial % FAMILY.length]} ${MIDDLE[(serial * 3) % MIDDLE.length]} ${GIVEN[(serial * 7) % GIVEN.length]}`;
  const phone = `+84001${String(serial).padStart(6, '0')}`;
  return { id: `${prefix}-m${String(index + 1).padStart(2, '0')}`, name, phone, ...(role ? { role } : {}) };
}

const zoneAbbr: Record<string, string> = {
  'quyet-thang': 'qth', 'tan-phong': 'tph', 'quyet-tien': 'qti', 'doan-ket': 'dke', 'nam-loong': 'nlo', 'dong-phong': 'dph', 'san-thang': 'sth',
};

// The site facts name no bản (village) for the sample node positions (themselves estimates), so a
// node's place is its direction and distance from the unit's centre (the coordinates above):
// something a patrol can act on, with no invented village name. Replace with the bản or landmark.
const DIRECTIONS = ['Bắc', 'Đông Bắc', 'Đông', 'Đông Nam', 'Nam', 'Tây Nam', 'Tây', 'Tây Bắc'];
function placeFrom(z: { lat: number; lon: number }, lat: number, lon: number): string {
  const northKm = (lat - z.lat) * 111.32;
  const eastKm = (lon - z.lon) * 111.32 * Math.cos((z.lat * Math.PI) / 180);
  const bearing = ((Math.atan2(eastKm, northKm) * 180) / Math.PI + 360) % 360;
  const km = Math.hypot(northKm, eastKm).toFixed(1).replace('.', ',');
  return `${km} km hướng ${DIRECTIONS[Math.round(bearing / 45) % 8]}`;
}

const nodes = zones.flatMap((z) =>
  Array.from({ length: z.nodes }, (_, i) => {
    // Spread nodes on a ring around the unit's centre, roughly 0.6–1.8 km out, along the forest edge.
    const angle = (2 * Math.PI * i) / z.nodes + 0.4;
    const radius = 0.006 + 0.01 * ((i % 3) / 2);
    const lat = Number((z.lat + radius * Math.sin(angle)).toFixed(5));
    const lon = Number((z.lon + radius * Math.cos(angle)).toFixed(5));
    return {
      id: `${z.id}-${String(i + 1).padStart(2, '0')}`,
      zone: z.id,
      lat,
      lon,
      place: placeFrom(z, lat, lon),
      elevationM: z.elevation + ((i * 37) % 160) - 40,
      reportingIntervalS: 60,
      sensors: (i === 0 ? ['temperature', 'humidity', 'smoke', 'rain', 'wind', 'battery', 'rssi'] : ['temperature', 'humidity', 'smoke', 'battery', 'rssi']) as SensorKind[],
    };
  }),
);

let teamNo = 0;
const teams = zones.flatMap((z) =>
  Array.from({ length: z.teams }, (_, i) => {
    const size = TEAM_SIZES[teamNo] ?? 12;
    teamNo += 1;
    const id = `team-${zoneAbbr[z.id]}-${i + 1}`;
    const members = Array.from({ length: size }, (_, j) => member(id, j, j === 0 ? 'tổ trưởng' : undefined));
    // Teams on a zone border also cover the neighbouring ward (first team of the central wards).
    const extra = z.id === 'tan-phong' ? ['doan-ket'] : z.id === 'quyet-tien' ? ['quyet-thang'] : [];
    return {
      id,
      name: `Tổ BVR ${z.name} ${i + 1}`,
      village: `Bản ${i + 1} (${z.name})`,
      zones: [z.id, ...extra],
      leader: members[0]!.id,
      members,
    };
  }),
);

const site: SiteInput = {
  site: { id: 'lai-chau-city', name: 'Thành phố Lai Châu', timezone: 'Asia/Ho_Chi_Minh', sampleData: true, forestAreaHa: 2644.1 },
  dangerTable: { thresholds: [1000, 2500, 5000, 10000], rainResetMm: 5, deficitUnit: 'hPa' },
  zones: zones.map(({ nodes: _n, teams: _t, elevation: _e, ...z }) => z),
  nodes,
  boards: {
    city: {
      id: 'city-board',
      name: 'Ban Chỉ huy PCCCR thành phố Lai Châu',
      members: Array.from({ length: CITY_BOARD_SIZE }, (_, j) => member('city-board', j, j === 0 ? 'trưởng ban' : undefined)),
    },
    communes: zones.map((z, i) => ({
      id: `board-${zoneAbbr[z.id]}`,
      name: `Ban Chỉ huy PCCCR ${z.kind === 'xa' ? 'xã' : 'phường'} ${z.name}`,
      zone: z.id,
      members: Array.from({ length: BOARD_SIZES[i] ?? 27 }, (_, j) => member(`board-${zoneAbbr[z.id]}`, j, j === 0 ? 'trưởng ban' : undefined)),
    })),
  },
  teams,
  rangers: Array.from({ length: 3 }, (_, j) => member('rangers', j, 'Hạt Kiểm lâm')),
  maintenance: [member('maintenance', 0, 'kỹ thuật viên cảm biến')],
  // Routing, policy and templates of the alerts service (alerts/README.md explains each field).
  alerts: {
    brand: 'PCCR LAI CHAU',
    encoding: 'gsm7',
    maxSegments: 1,
    grouping: { windowS: 60 },
    inhibit: [{ source: 'fire-confirmed', targets: ['level-changed', 'fire-suspected'] }],
    ackTokenTtlS: 86400,
    levelNames: { 1: 'thấp', 2: 'trung bình', 3: 'cao', 4: 'nguy hiểm', 5: 'cực kỳ nguy hiểm' },
    routes: [
      {
        kinds: ['fire-confirmed'],
        to: ['team-members', 'commune-board', 'city-board'],
        groupWaitS: 0,
        ack: true,
        repeat: { everyS: 600, max: 3, to: ['team-leaders', 'commune-board'] },
        escalation: [{ afterS: 900, to: ['rangers'] }],
      },
      {
        kinds: ['fire-suspected'],
        to: ['team-leaders'],
        groupWaitS: 0,
        ack: true,
        repeat: { everyS: 600, max: 2 },
        escalation: [
          { afterS: 300, to: ['team-members'] },
          { afterS: 600, to: ['commune-board'] },
          { afterS: 900, to: ['city-board'] },
        ],
      },
      {
        kinds: ['level-changed'],
        minLevel: 4,
        to: ['team-leaders', 'commune-board', 'city-board', 'rangers'],
        groupWaitS: 60,
        ack: true,
        escalation: [{ afterS: 1800, to: ['team-members'] }],
      },
      { kinds: ['level-changed'], minLevel: 3, maxLevel: 3, to: ['team-leaders', 'commune-board'], groupWaitS: 60, ack: true },
      { kinds: ['node-offline', 'node-fault'], to: ['maintenance'], groupWaitS: 60, ack: false },
    ],
    repeatMarker: 'NHẮC LẠI ',
    // {ack}: "Trả lời <code> để xác nhận" where the transport receives replies (GSM modem), only the
    // link where it cannot (Twilio's alphanumeric sender in Vietnam). Unaccented, "nhận"/"nhắn" both
    // read "nhan", so the instruction avoids them.
    ackText: { reply: 'Trả lời {code} để xác nhận', link: 'Xác nhận: {link}' },
    faultNames: { offline: 'mất kết nối', stuck: 'cảm biến kẹt số', 'out-of-range': 'số đo bất thường', 'clock-skew': 'lệch đồng hồ', 'low-battery': 'pin yếu', 'brown-out': 'sụt nguồn' },
    templates: {
      'fire-confirmed': '{brand}: {repeat}CHÁY RỪNG tại {zone}, {place}, {time}. Tổ BVR xuất quân ngay. {ack}',
      'fire-suspected': '{brand}: {repeat}NGHI CHÁY tại {zone}, {place}, {time}. Kiểm tra ngay. {ack}',
      'fire-cleared': '{brand}: HẾT CHÁY tại {zone}, {time}. Đám cháy đã được khống chế, dừng báo động.',
      'fire-signal-lost': '{brand}: MẤT TÍN HIỆU cảm biến gần đám cháy tại {zone}, {place}, từ {time}. Chưa biết lửa đã tắt, kiểm tra tại chỗ.',
      'level-raised': '{brand}: {repeat}{zone} lên cấp cháy rừng {level} ({levelName}) {time}. Tăng tuần tra. {ack}',
      'level-fell': '{brand}: Cấp cháy rừng {zone} giảm còn cấp {level} ({levelName}) lúc {time}. Dừng báo động cấp {previousLevel}.',
      'node-offline': '{brand}: {count} trạm ở {zone} mất kết nối từ {time}: {nodes}. Kiểm tra nguồn và sóng.',
      'node-online': '{brand}: Trạm cảm biến {nodes} ({zone}) đã kết nối lại lúc {time}.',
      'node-fault': '{brand}: {count} trạm ở {zone} báo lỗi ({fault}) lúc {time}: {nodes}. Cần bảo trì.',
      'node-fault-cleared': '{brand}: Trạm cảm biến {nodes} ({zone}) hết lỗi {fault} lúc {time}.',
    },
  },
  // The command board's drill at the largest hotspot: the first Monday of each dry-season month at 08:30.
  drills: [{ zone: 'san-thang', kind: 'fire-confirmed', cron: '30 8 1-7 1-4,11,12 1', depth: 'alert', dryRun: false }],
};

process.stdout.write(
  '# Lai Châu city site file. Zones, hotspots and counts are real (the city’s reports, thanhpho.laichau.gov.vn);\n' +
    '# node positions are estimates and the ROSTER IS SAMPLE DATA: names are invented and every\n' +
    '# phone is +8400…, a prefix no Vietnamese operator assigns. Replace before deployment.\n' +
    '# Regenerate: node --import tsx scripts/generate-sample-site.ts > config/lai-chau.site.yaml\n',
);
// One line per roster member and per short list keeps the file easy to review and edit.
const doc = new Document(site);
visit(doc, {
  Map(_key, node) {
    if (node.has('phone') || node.has('afterS') || node.has('everyS') || node.has('cron')) node.flow = true;
  },
  Seq(_key, node) {
    if (node.items.every((item) => isScalar(item))) node.flow = true;
  },
});
const root = doc.contents;
const alertsKey = isMap(root) ? root.items.find((pair) => isScalar(pair.key) && pair.key.value === 'alerts')?.key : undefined;
if (isScalar(alertsKey)) {
  alertsKey.spaceBefore = true;
  alertsKey.commentBefore = [
    ' Alerts: routing, policy and SMS templates (alerts/README.md). Routes are matched first to last on',
    ' kind and level; `to` names zone-relative audiences (team-leaders, team-members, commune-board,',
    ' city-board, rangers, maintenance) or fixed ones (team:<id>, board:<id>, member:<id>), all checked',
    ' against the roster above. Templates are written with accents; encoding gsm7 sends them unaccented',
    ' (160 characters a segment), ucs2 accented (NFC, 70 a segment). At start-up every template is',
    ' rendered with the longest zone and node names and refused if it exceeds maxSegments.',
  ].join('\n');
}
const drillsKey = isMap(root) ? root.items.find((pair) => isScalar(pair.key) && pair.key.value === 'drills')?.key : undefined;
if (isScalar(drillsKey)) {
  drillsKey.spaceBefore = true;
  drillsKey.commentBefore = [
    ' Scheduled drills (README "Drills"): started by the alerts service, every SMS marked DIEN TAP. cron is',
    ' node-cron in the site timezone (minute hour day-of-month month day-of-week); node-cron ANDs the two',
    ' day fields, so "30 8 1-7 1-4,11,12 1" is the first Monday of January-April, November and December',
    ' at 08:30. Never started while a real alert of the zone is open (skipped and logged).',
  ].join('\n');
}
process.stdout.write(doc.toString({ lineWidth: 0, flowCollectionPadding: true }));
