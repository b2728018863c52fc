// @ts-check
/// <reference lib="dom" />
/**
 * The console's words in Simplified Chinese and English: one message table, the language the page
 * speaks (the stored choice, else the browser's), and the page's static text. Every string the
 * console shows to people comes from here, error messages included: the client library and the
 * server report codes, which are mapped to sentences here.
 *
 * @module
 */

/** The languages the console speaks, in the order the switch offers them. */
export const LANGUAGES = /** @type {const} */ (["zh-CN", "en"]);
/** @typedef {(typeof LANGUAGES)[number]} Language */

/** Each language's name, in itself: what the switch shows. */
export const LANGUAGE_NAMES = { "zh-CN": "中文", en: "English" };

/** Where the operator's choice is kept across loads. */
const STORAGE_KEY = "alarmcast.language";

const EN = {
  title: "alarmcast console",
  language: "Language",
  ids: "Ids",
  token: "Token",
  tokenPlaceholder: "if required",
  connect: "Connect",
  connections: "Connections",
  enterId: "Enter at least one id",
  dismiss: "Dismiss",
  filterId: "Id",
  filterLevel: "Level",
  filterState: "State",
  all: "all",
  noAlarms: "No alarms yet",
  alarmCount: "{shown} of {total} alarms",
  overdueCount: "{n} overdue",
  more: "Show more",
  views: "Views",
  tabConditions: "Current alarms ({n})",
  tabAlarms: "Other alarms ({n})",
  publishPanel: "Publish a test alarm",
  apiKey: "API key",
  publishId: "Id",
  level: "Level",
  message: "Message",
  testAlarm: "Test alarm",
  publish: "Publish",
  publishing: "Publishing…",
  published: "Published #{seq} to {id}",
  failed: "Failed: {detail}",
  "status.connecting": "connecting",
  "status.online": "online",
  "status.reconnecting": "reconnecting",
  "status.offline": "offline",
  statusLine: "{id}: {status}",
  stale: "Not connected to {ids}: the list may be out of date",
  ack: "Ack",
  acked: "Acked",
  overdue: "Overdue",
  escalated: "Escalated",
  escalationOf: "Escalation of {target} #{seq}",
  justNow: "just now",
  secondsAgo: "{n} s ago",
  minutesAgo: "{n} min ago",
  hoursAgo: "{n} h ago",
  daysAgo: "{n} d ago",
  noConditions: "No current alarms",
  conditionCount: "{shown} of {total} current alarms",
  "state.active-unacknowledged": "Unacknowledged",
  "state.active-acknowledged": "Acknowledged",
  "state.cleared-unacknowledged": "Returned to normal — awaiting acknowledgement",
  "state.normal": "Normal",
  "filter.active-unacknowledged": "Active, unacknowledged",
  "filter.active-acknowledged": "Active, acknowledged",
  "filter.cleared-unacknowledged": "Returned to normal, unacknowledged",
  repeats: "×{n}",
  repeatsLabel: "Raised {n} times",
  firstTime: "First {time}",
  lastTime: "Last {time}",
  acknowledgedBy: "Acknowledged by {by} at {time}",
  acknowledge: "Acknowledge",
  acknowledging: "Acknowledging…",
  acknowledgeWithComment: "With a comment…",
  acknowledgeTitle: "Acknowledge {key}",
  comment: "Comment (optional)",
  shelve: "Shelve",
  unshelve: "Unshelve",
  history: "History",
  shelved: "Shelved ({n})",
  shelvedBadge: "Shelved",
  shelvedReason: "Reason",
  shelvedBy: "By",
  shelvedUntil: "Until",
  historyEmpty: "This console has seen nothing done to it yet.",
  historyWhen: "When",
  historyAction: "Action",
  historyBy: "By",
  historyDetails: "Details",
  publisher: "publisher",
  "action.raise": "Raised",
  "action.acknowledge": "Acknowledged",
  "action.shelve": "Shelved",
  "action.unshelve": "Unshelved",
  "action.clear": "Returned to normal",
  "action.expire": "Shelving ended",
  shelveTitle: "Shelve {key}",
  reason: "Reason (required)",
  duration: "For",
  untilCleared: "Or until it clears, if sooner",
  "duration.900": "15 min",
  "duration.3600": "1 h",
  "duration.28800": "8 h",
  tooLong: "{label} (longer than the server allows)",
  mostAllowed: "{minutes} min (the most the server allows)",
  reasonBlank: "Say why: a reason is required",
  cancel: "Cancel",
  shelving: "Shelving…",
  noAnswer: "No answer from the server yet",
  notOnline: "{id} is not online",
  flood: "Alarm flood: {n} alarms in 10 minutes on {id}",
  "error.not_unacknowledged": "Already acknowledged",
  "error.not_active": "It is no longer active",
  "error.not_in_list": "It is no longer in the list",
  "error.already_shelved": "Already shelved",
  "error.not_shelved": "It is not shelved",
  "error.unknown_condition": "Unknown alarm",
  "error.invalid_field": "Refused: {detail}",
  "error.invalid_key": "Refused: {detail}",
  "error.invalid_message": "Refused: {detail}",
  "error.forbidden": "Not allowed with this token",
  "error.unauthorized": "Not authorised: check the key or token",
  "error.store_unavailable": "The server could not record it; try again",
  "error.closed": "The server closed the connection for good ({detail})",
  "error.token_unavailable": "No token: {detail}",
  "error.invalid_frame": "The server sent something unreadable",
  "error.ack_failed": "The acknowledgement failed: {detail}",
  "error.action_failed": "The action failed: {detail}",
  "error.unconfirmed": "No answer before the connection closed: the list shows what was recorded",
  "error.other": "Error {code}: {detail}",
};

/** @typedef {keyof typeof EN} MessageKey */

/** @type {Record<MessageKey, string>} */
const ZH = {
  title: "alarmcast 报警控制台",
  language: "语言",
  ids: "ID",
  token: "令牌",
  tokenPlaceholder: "如需要",
  connect: "连接",
  connections: "连接状态",
  enterId: "请至少输入一个 ID",
  dismiss: "关闭",
  filterId: "ID",
  filterLevel: "级别",
  filterState: "状态",
  all: "全部",
  noAlarms: "暂无报警",
  alarmCount: "共 {total} 条报警，显示 {shown} 条",
  overdueCount: "{n} 条超时未确认",
  more: "显示更多",
  views: "视图",
  tabConditions: "当前报警 ({n})",
  tabAlarms: "其他报警 ({n})",
  publishPanel: "发布测试报警",
  apiKey: "API 密钥",
  publishId: "ID",
  level: "级别",
  message: "内容",
  testAlarm: "测试报警",
  publish: "发布",
  publishing: "发布中…",
  published: "已发布 #{seq} 到 {id}",
  failed: "失败：{detail}",
  "status.connecting": "连接中",
  "status.online": "在线",
  "status.reconnecting": "重连中",
  "status.offline": "离线",
  statusLine: "{id}：{status}",
  stale: "与 {ids} 的连接已中断：列表可能不是最新状态",
  ack: "确认",
  acked: "已确认",
  overdue: "超时",
  escalated: "已升级",
  escalationOf: "{target} #{seq} 的升级",
  justNow: "刚刚",
  secondsAgo: "{n} 秒前",
  minutesAgo: "{n} 分钟前",
  hoursAgo: "{n} 小时前",
  daysAgo: "{n} 天前",
  noConditions: "当前没有报警",
  conditionCount: "共 {total} 条当前报警，显示 {shown} 条",
  "state.active-unacknowledged": "未确认",
  "state.active-acknowledged": "已确认",
  "state.cleared-unacknowledged": "已恢复正常，待确认",
  "state.normal": "正常",
  "filter.active-unacknowledged": "报警中，未确认",
  "filter.active-acknowledged": "报警中，已确认",
  "filter.cleared-unacknowledged": "已恢复正常，未确认",
  repeats: "×{n}",
  repeatsLabel: "已触发 {n} 次",
  firstTime: "首次 {time}",
  lastTime: "最近 {time}",
  acknowledgedBy: "{by} 于 {time} 确认",
  acknowledge: "确认",
  acknowledging: "确认中…",
  acknowledgeWithComment: "备注确认…",
  acknowledgeTitle: "确认 {key}",
  comment: "备注（可选）",
  shelve: "搁置",
  unshelve: "取消搁置",
  history: "历史",
  shelved: "已搁置 ({n})",
  shelvedBadge: "已搁置",
  shelvedReason: "原因",
  shelvedBy: "操作人",
  shelvedUntil: "截止",
  historyEmpty: "本控制台尚未看到对它的任何操作。",
  historyWhen: "时间",
  historyAction: "操作",
  historyBy: "操作人",
  historyDetails: "说明",
  publisher: "发布方",
  "action.raise": "触发",
  "action.acknowledge": "确认",
  "action.shelve": "搁置",
  "action.unshelve": "取消搁置",
  "action.clear": "恢复正常",
  "action.expire": "搁置到期",
  shelveTitle: "搁置 {key}",
  reason: "原因（必填）",
  duration: "时长",
  untilCleared: "或在恢复正常时结束（以先到者为准）",
  "duration.900": "15 分钟",
  "duration.3600": "1 小时",
  "duration.28800": "8 小时",
  tooLong: "{label}（超过服务器上限）",
  mostAllowed: "{minutes} 分钟（服务器上限）",
  reasonBlank: "请填写原因：搁置必须说明原因",
  cancel: "取消",
  shelving: "搁置中…",
  noAnswer: "服务器尚未应答",
  notOnline: "{id} 未在线",
  flood: "报警泛滥：{id} 在 10 分钟内有 {n} 条报警",
  "error.not_unacknowledged": "已被确认",
  "error.not_active": "该报警已不在报警状态",
  "error.not_in_list": "该报警已不在列表中",
  "error.already_shelved": "已被搁置",
  "error.not_shelved": "未被搁置",
  "error.unknown_condition": "未知报警",
  "error.invalid_field": "请求被拒绝：{detail}",
  "error.invalid_key": "请求被拒绝：{detail}",
  "error.invalid_message": "请求被拒绝：{detail}",
  "error.forbidden": "此令牌无权执行该操作",
  "error.unauthorized": "未授权：请检查密钥或令牌",
  "error.store_unavailable": "服务器暂时无法记录，请重试",
  "error.closed": "服务器已永久关闭连接（{detail}）",
  "error.token_unavailable": "无法获取令牌：{detail}",
  "error.invalid_frame": "服务器发送了无法解析的数据",
  "error.ack_failed": "确认失败：{detail}",
  "error.action_failed": "操作失败：{detail}",
  "error.unconfirmed": "连接在服务器答复前断开：列表显示已记录的状态",
  "error.other": "错误 {code}：{detail}",
};

/** @type {Record<Language, Record<MessageKey, string>>} */
const MESSAGES = { "zh-CN": ZH, en: EN };

/** Level names people read in Chinese; other levels, and every level in English, show as sent. */
const ZH_LEVELS = /** @type {Record<string, string>} */ ({
  critical: "紧急",
  major: "重要",
  minor: "次要",
  warning: "警告",
  info: "提示",
});

/** @type {Language} */
let current = "en";

/**
 * The language to speak: a stored choice, else the first of the browser's languages that is
 * Chinese (any `zh*`) or English, else English.
 * @param {string | null} stored @param {readonly string[]} preferred
 * @returns {Language}
 */
export function pickLanguage(stored, preferred) {
  const known = LANGUAGES.find((lang) => lang === stored);
  if (known) return known;
  for (const tag of preferred) {
    if (/^zh\b/i.test(tag)) return "zh-CN";
    if (/^en\b/i.test(tag)) return "en";
  }
  return "en";
}

/** The language the page speaks now. @returns {Language} */
export function language() {
  return current;
}

/**
 * The message `key` in the current language, with each `{name}` replaced by `params[name]`.
 * @param {MessageKey} key @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  // An unknown key (a new action from a newer server) reads as itself rather than failing.
  return (MESSAGES[current][key] ?? key).replace(
    /\{(\w+)\}/g,
    (whole, name) => name in params ? String(params[name]) : whole,
  );
}

/**
 * What people read for an error the client library or the server reported: the code's sentence,
 * with the server's own message where it carries the detail (which field, which limit).
 * @param {string} code @param {string} detail
 */
export function errorText(code, detail) {
  if (current === "zh-CN" && (code === "invalid_field" || code === "invalid_key")) {
    const text = zhFieldText(detail);
    if (text) return text;
  }
  const key = /** @type {MessageKey} */ (`error.${code}`);
  return key in EN ? t(key, { detail, code }) : t("error.other", { detail, code });
}

/** The server's own names for who acted, as Chinese readers read them. */
const ZH_ACTORS = /** @type {Record<string, string>} */ ({
  anonymous: "匿名用户",
  system: "系统",
  api: "API 调用方",
});

/**
 * Who acted, as people read it: the server's own names (`anonymous`, `system`, `api`) in the
 * current language, people's names as given. @param {string} by
 */
export function actorName(by) {
  return current === "zh-CN" ? ZH_ACTORS[by] ?? by : by;
}

/** What the console's fields are called in Chinese, for a refusal that names one. */
const ZH_FIELDS = /** @type {Record<string, string>} */ ({
  durationSeconds: "搁置时长",
  reason: "原因",
  comment: "备注",
  untilCleared: "“恢复正常时结束”",
  key: "报警键",
});

/**
 * A refusal of a field the server explains in English (`Field "reason" …`), said in Chinese:
 * the field by name, and a shelve's longest duration; undefined for one the console can't name.
 * @param {string} detail @returns {string | undefined}
 */
function zhFieldText(detail) {
  const named = /^Field "([\w.]+)"/.exec(detail);
  const field = named && ZH_FIELDS[named[1] ?? ""];
  if (!field) return undefined;
  const range = / from (\d+) to (\d+)/.exec(detail);
  if (named?.[1] === "durationSeconds" && range) {
    return `请求被拒绝：搁置时长须在 ${range[1]} 至 ${range[2]} 秒之间`;
  }
  return `请求被拒绝：${field}不符合要求`;
}

/** How a level reads in the current language (unknown levels as sent). @param {string} level */
export function levelName(level) {
  return current === "zh-CN" ? ZH_LEVELS[level] ?? level : level;
}

/**
 * Picks the language at load: stored choice, else the browser's. @returns {Language}
 */
export function initLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage may be off (private mode, a policy): the browser's language then, every time.
  }
  return useLanguage(pickLanguage(stored, navigator.languages ?? [navigator.language]));
}

/**
 * Switches to `lang`, remembers the choice, and translates the page's static text.
 * @param {Language} lang @returns {Language}
 */
export function chooseLanguage(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered; the switch still works for this page.
  }
  return useLanguage(lang);
}

/** @param {Language} lang @returns {Language} */
function useLanguage(lang) {
  current = lang;
  document.documentElement.lang = lang;
  document.title = t("title");
  // Static text names its message: data-i18n (text), data-i18n-placeholder, data-i18n-label.
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(/** @type {MessageKey} */ (node.getAttribute("data-i18n")));
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    const key = /** @type {MessageKey} */ (node.getAttribute("data-i18n-placeholder"));
    node.setAttribute("placeholder", t(key));
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute(
      "aria-label",
      t(/** @type {MessageKey} */ (node.getAttribute("data-i18n-label"))),
    );
  }
  return lang;
}
