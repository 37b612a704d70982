// Vietnam's five official fire-danger levels (cấp I–V): names, colours and the actions each
// requires. Shared by rules (published level names), alerts and the dashboards.
import type { DangerLevel } from './payloads.ts';

/**
 * Who must be told, per the engine's configurable policy (not law: the actions per level follow
 * QĐ 127/2000/QĐ-BNN-KL and provincial practice; verify against the Lai Châu decision).
 */
export type Recipient = 'commune-board' | 'forest-owners' | 'kiem-lam' | 'protection-teams' | 'city-board' | 'provincial-board' | 'public';

export interface LevelAction {
  /** Stable code for programs (alerts, dashboards). */
  code: string;
  vi: string;
  en: string;
}

export interface DangerLevelInfo {
  level: DangerLevel;
  roman: 'I' | 'II' | 'III' | 'IV' | 'V';
  /** Official short name, e.g. "Cấp thấp". */
  name: string;
  /** "Cấp I – thấp" style label for messages and dashboards. */
  label: string;
  nameEn: string;
  /** Official description of the level. */
  description: string;
  descriptionEn: string;
  /** Display colour for maps and dashboards. Conventional, NOT from a sourced legal text (EST). */
  colour: string;
  /** Actions the level requires, cumulative from the lower levels (QĐ 127/2000/QĐ-BNN-KL). */
  actions: readonly LevelAction[];
  /** Who is notified at this level (policy, configurable in alerts). */
  notify: readonly Recipient[];
  /** Sources of the wording (public pages). */
 sources: string;
}

const A = (code: string, vi: string, en: string): LevelAction => ({ code, vi, en });

const ACTIONS_I = [
  A('implement-pcccr-plan', 'Chủ tịch UBND xã chỉ đạo Ban chỉ huy PCCCR xã, chủ rừng phối hợp Kiểm lâm triển khai phương án PCCCR', 'Commune chairman has the commune fire command board and forest owners, with the rangers, put the fire-prevention plan into action'),
  A('guide-swidden', 'Hướng dẫn địa điểm làm nương rẫy, kỹ thuật đốt trước thực bì đúng quy định', 'Guide where swidden fields may be made and how vegetation must be burned'),
  A('awareness', 'Tuyên truyền, nâng cao ý thức phòng cháy chữa cháy rừng', 'Run awareness campaigns'),
];
const ACTIONS_II = [
  A('step-up-inspection', 'Tăng cường kiểm tra, đôn đốc việc thực hiện phương án PCCCR', 'Step up inspections of the fire-prevention plan'),
  A('station-lookouts', 'Bố trí lực lượng canh phòng lửa rừng', 'Station lookout forces'),
  A('standby-suppression', 'Sẵn sàng lực lượng, phương tiện dập lửa khi mới phát sinh', 'Stand ready to put out new fires'),
];
const ACTIONS_III = [
  A('patrol-24h', 'Tuần tra, canh gác lửa rừng 24/24 giờ; huy động lực lượng khi có cháy', 'Fire patrols and watch 24/24 h; mobilise forces for new fires'),
  A('notify-kiem-lam', 'Hạt Kiểm lâm theo dõi, chỉ đạo trực tiếp', 'The Hạt Kiểm lâm (rangers) follow and direct'),
];
const ACTIONS_IV = [
  A('sign-level-iv', 'Kiểm lâm chuyển biển báo cấp dự báo về cấp IV', 'Rangers set the danger sign to level IV'),
  A('burning-ban', 'Cấm đốt nương rẫy, dùng lửa trong và ven rừng', 'Ban swidden burning and any fire in or next to the forest'),
  A('lookout-check', 'Chủ rừng kiểm tra lực lượng canh phòng; trực canh 12/24 giờ (09:00–21:00) trở lên', 'Forest owners check lookouts; watch at least 12/24 h (09:00–21:00)'),
  A('mobile-team-standby', 'Chủ tịch UBND huyện, xã được huy động mọi lực lượng tại chỗ; lực lượng cơ động Kiểm lâm thường trực', 'District/commune chairmen may mobilise all local forces; the rangers\' mobile team on standby'),
  A('daily-media', 'Dự báo, thông báo cấp cháy rừng hằng ngày trên phương tiện thông tin đại chúng (NĐ 156/2018, Điều 46)', 'Publish the level daily in the mass media (Decree 156/2018, Art. 46)'),
];
const ACTIONS_V = [
  A('immediate-pcccr', 'UBND các cấp và chủ rừng thực hiện ngay các biện pháp PCCCR', 'People\'s Committees at all levels and forest owners carry out fire-prevention measures at once'),
  A('duty-24h', 'Trực 24/24 giờ tại các chốt, trạm; kiểm soát chặt người ra vào rừng', 'Duty 24/24 h at checkpoints; tight control of people entering the forest'),
  A('no-fire-in-forest', 'Tuyệt đối không dùng lửa trong rừng; tạm dừng đốt thực bì vào giờ cao điểm', 'No fire in the forest; vegetation burning suspended at peak hours'),
  A('all-hands', 'Ban chỉ huy PCCCR tỉnh chỉ đạo, huy động toàn bộ lực lượng', 'The provincial fire command board directs; all hands'),
];

export const DANGER_LEVEL_INFO: Readonly<Record<DangerLevel, DangerLevelInfo>> = Object.freeze({
  1: {
    level: 1, roman: 'I', name: 'Cấp thấp', label: 'Cấp I – thấp', nameEn: 'Low',
    description: 'Ít có khả năng cháy rừng',
    descriptionEn: 'Forest fire unlikely',
    colour: 'green',
    actions: ACTIONS_I,
    notify: ['commune-board', 'forest-owners'],
  sources: 'QĐ 127/2000 via https://123docz.net/trich-doan/4553347-nguy-co-chay-rung-va-du-bao-nguy-co-chay-rung.htm; Tiền Giang 2022 http://baoapbac.vn/xa-hoi/202203/ban-hanh-cap-du-bao-chay-rung-va-bang-tra-cap-du-bao-chay-rung-tren-dia-ban-tinh-tien-giang-946678/; Hà Nội QĐ 32/2021 http://anhp.vn/ubnd-tp-ban-hanh-5-cap-du-bao-chay-rung-d43901.html',
  },
  2: {
    level: 2, roman: 'II', name: 'Cấp trung bình', label: 'Cấp II – trung bình', nameEn: 'Moderate',
    description: 'Có khả năng cháy rừng',
    descriptionEn: 'Forest fire possible',
    colour: 'blue',
    actions: [...ACTIONS_I, ...ACTIONS_II],
    notify: ['commune-board', 'forest-owners'],
  sources: 'QĐ 127/2000 via https://123docz.net/trich-doan/4553347-nguy-co-chay-rung-va-du-bao-nguy-co-chay-rung.htm; http://baoapbac.vn/xa-hoi/202203/ban-hanh-cap-du-bao-chay-rung-va-bang-tra-cap-du-bao-chay-rung-tren-dia-ban-tinh-tien-giang-946678/ http://anhp.vn/ubnd-tp-ban-hanh-5-cap-du-bao-chay-rung-d43901.html',
  },
  3: {
    level: 3, roman: 'III', name: 'Cấp cao', label: 'Cấp III – cao', nameEn: 'High',
    description: 'Thời tiết khô hanh kéo dài, dễ xảy ra cháy rừng, khả năng cháy lan trên diện rộng',
    descriptionEn: 'Prolonged dry weather; fires start easily and can spread widely',
    colour: 'yellow',
    actions: [...ACTIONS_I, ...ACTIONS_II, ...ACTIONS_III],
    notify: ['commune-board', 'forest-owners', 'kiem-lam', 'protection-teams'],
  sources: 'http://anhp.vn/ubnd-tp-ban-hanh-5-cap-du-bao-chay-rung-d43901.html; actions: Gia Lai practice http://gialaitv.vn/thong-bao/thong-bao-cap-du-bao-chay-rung-29-4-2-2022/ (QĐ 127 wording for III not retrieved)',
  },
  4: {
    level: 4, roman: 'IV', name: 'Cấp nguy hiểm', label: 'Cấp IV – nguy hiểm', nameEn: 'Dangerous',
    description: 'Thời tiết khô hanh, hạn kéo dài, nguy cơ cháy rừng lớn, tốc độ lửa lan tràn nhanh',
    descriptionEn: 'Dry weather and prolonged drought; high fire risk, fire spreads fast',
    colour: 'orange',
    actions: [...ACTIONS_I, ...ACTIONS_II, ...ACTIONS_III, ...ACTIONS_IV],
    notify: ['commune-board', 'forest-owners', 'kiem-lam', 'protection-teams', 'city-board', 'public'],
  sources: 'http://anhp.vn/ubnd-tp-ban-hanh-5-cap-du-bao-chay-rung-d43901.html http://baoninhthuan.com.vn/news/106331p1c30/tang-cuong-cong-tac-phong-chong-chay-rung.htm; NĐ 156/2018 Art. 46(3) https://thuviennhadat.vn/phap-ly-nha-dat/cap-du-bao-chay-rung-gom-may-cap-ai-co-tham-quyen-ban-hanh-cap-du-bao-chay-rung-dieu-kien-an-toan-ve-556459.html',
  },
  5: {
    level: 5, roman: 'V', name: 'Cấp cực kỳ nguy hiểm', label: 'Cấp V – cực kỳ nguy hiểm', nameEn: 'Extremely dangerous',
    description: 'Khô, hạn, kiệt kéo dài, có khả năng cháy lớn ở tất cả các loại rừng, tốc độ lửa lan tràn rất nhanh',
    descriptionEn: 'Long drought; large fires possible in every forest type, fire spreads very fast',
    colour: 'red',
    actions: [...ACTIONS_I, ...ACTIONS_II, ...ACTIONS_III, ...ACTIONS_IV, ...ACTIONS_V],
    notify: ['commune-board', 'forest-owners', 'kiem-lam', 'protection-teams', 'city-board', 'provincial-board', 'public'],
  sources: 'http://anhp.vn/ubnd-tp-ban-hanh-5-cap-du-bao-chay-rung-d43901.html https://thiennhien.net/2015/03/06/nguy-co-chay-rung-cuc-ky-nguy-hiem https://nhandan.vn/binh-thuan-chu-dong-phong-chay-chua-chay-trong-mua-kho-2025-post851607.html https://daidoanket.vn/print/10148701.html; NĐ 156/2018 Art. 46(3) https://thuviennhadat.vn/phap-ly-nha-dat/cap-du-bao-chay-rung-gom-may-cap-ai-co-tham-quyen-ban-hanh-cap-du-bao-chay-rung-dieu-kien-an-toan-ve-556459.html',
  },
});

export function dangerLevelInfo(level: DangerLevel): DangerLevelInfo {
  return DANGER_LEVEL_INFO[level];
}
