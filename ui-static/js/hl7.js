// HL7 v2 (ER7) viewer for the medbus console: parses a message with its own
// delimiters and renders it with segment and field names (Chinese or English).
//
// Pure ES module, no dependencies. The message text is untrusted input: the
// renderer builds DOM with document.createElement and textContent only.

/** Delimiters when a message carries no MSH-1/MSH-2 (HL7 defaults |^~\&). */
const DEFAULT_DELIMITERS = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
});

/** Segments whose field 1 is the field separator and field 2 the encoding characters. */
const HEADER_SEGMENTS = new Set(['MSH', 'FHS', 'BHS']);

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;
const Z_SEGMENT_ID = /^Z[A-Z0-9]{2}$/;
const LINE_BREAK = /\r\n|\r|\n/;
/** Leading whitespace, MLLP start block (0x0B) and byte-order mark. */
const LEADING_NOISE = /^[\s\x0b\ufeff]+/;
/** MLLP end block (0x1C) and anything after it on the line. */
const TRAILING_FRAME = /\x1c[\s\S]*$/;
/** Characters that can never be delimiters. */
const NOT_A_DELIMITER = /[\sA-Za-z0-9]/;
const HEX_ESCAPE = /^X((?:[0-9A-Fa-f]{2})+)$/;

/** Caps on repeat counts in formatting escapes (\.sp n\, \.sk n\), so garbage cannot blow up a string. */
const MAX_SKIPPED_LINES = 50;
const MAX_SKIPPED_SPACES = 200;

const Z_SEGMENT_NAME = Object.freeze({ en: 'Z-segment (site-defined)', zh: '自定义段' });
const UNPARSED_NAME = Object.freeze({ en: 'Unrecognised line', zh: '无法识别的行' });

/**
 * True when the text looks like an HL7 v2 message: it starts with MSH, or an
 * FHS/BHS batch header, after optional whitespace or MLLP start block (0x0B),
 * followed by a field separator.
 * @param {unknown} text
 * @returns {boolean}
 */
export function looksLikeHl7(text) {
  if (typeof text !== 'string') return false;
  const start = text.replace(LEADING_NOISE, '');
  return /^(?:MSH|FHS|BHS)./.test(start) && !NOT_A_DELIMITER.test(start[3]);
}

/**
 * @typedef {{field: string, component: string, repetition: string, escape: string, subcomponent: string}} Hl7Delimiters
 * @typedef {{position: string, number: number, value: string, repetitions: string[][][]}} Hl7Field
 * @typedef {{id: string, index: number, occurrence: number, fields: Hl7Field[]}} Hl7Segment
 */

/**
 * Parses ER7 text with the message's own delimiters (MSH-1/MSH-2, default |^~\&;
 * a v2.7 truncation character in MSH-2 is allowed and ignored).
 *
 * Segments may be separated by CR, LF or CRLF; MLLP framing is ignored.
 * Each field keeps its raw text in `value`; `repetitions` holds, per repetition,
 * per component, the subcomponent strings with HL7 escapes decoded
 * (\F\ \S\ \T\ \R\ \E\, \Xhh..\ as UTF-8 when valid else Latin-1, \.br\ and \.sp\
 * as newlines; unknown escapes kept verbatim). An empty field has
 * `repetitions` [[['']]]; HL7 null `""` stays the two-character string `""`.
 * MSH-1 (FHS-1, BHS-1) is the field separator and MSH-2 the encoding characters,
 * neither split nor decoded. Trailing empty fields are kept, so positions are exact.
 * Never throws: a line that is not a segment becomes a segment with id '?' and
 * one field holding the line.
 * @param {string} text
 * @returns {{delimiters: Hl7Delimiters, segments: Hl7Segment[]}}
 */
export function parseEr7(text) {
  const lines = splitLines(text);
  const firstHeader = lines.find((line) => headerId(line) !== undefined);
  const delimiters = firstHeader === undefined ? { ...DEFAULT_DELIMITERS } : readDelimiters(firstHeader);
  const occurrences = new Map();
  let current = delimiters;
  const segments = lines.map((line, index) => {
    if (headerId(line) !== undefined) current = readDelimiters(line);
    const segment = parseSegment(line, current);
    const occurrence = (occurrences.get(segment.id) ?? 0) + 1;
    occurrences.set(segment.id, occurrence);
    return { id: segment.id, index, occurrence, fields: segment.fields };
  });
  return { delimiters, segments };
}

/**
 * Segment description, e.g. segmentName('PID', 'en') === 'Patient Identification',
 * segmentName('PID', 'zh') === '患者标识'. Z-segments get 'Z-segment (site-defined)' /
 * '自定义段'. Undefined when unknown.
 * @param {string} id segment id, e.g. 'PID'
 * @param {string} [lang='zh'] 'zh' or 'en' (a tag such as 'en-US' works too)
 * @returns {string|undefined}
 */
export function segmentName(id, lang = 'zh') {
  const key = String(id ?? '').toUpperCase();
  const language = normalizeLang(lang);
  if (Object.hasOwn(SEGMENT_NAMES, key)) return SEGMENT_NAMES[key][language === 'en' ? 0 : 1];
  if (Z_SEGMENT_ID.test(key)) return Z_SEGMENT_NAME[language];
  return undefined;
}

/**
 * Field name (HL7 v2.5.1), e.g. fieldName('PID', 5, 'en') === 'Patient Name',
 * fieldName('PID', 5, 'zh') === '患者姓名'. Undefined when unknown.
 * @param {string} segmentId e.g. 'PID'
 * @param {number|string} number 1-based field number
 * @param {string} [lang='zh'] 'zh' or 'en'
 * @returns {string|undefined}
 */
export function fieldName(segmentId, number, lang = 'zh') {
  const key = String(segmentId ?? '').toUpperCase();
  const n = Number(number);
  if (!Object.hasOwn(FIELD_NAMES, key) || !Number.isInteger(n) || n < 1) return undefined;
  return FIELD_NAMES[key][normalizeLang(lang)][n] ?? undefined;
}

/**
 * Renders the message as DOM, built with document.createElement, appendChild,
 * className, textContent and setAttribute only (never innerHTML: the message is
 * untrusted). Between the segment id and name, and between a component's
 * position and value, a one-space text node is added when the document offers
 * createTextNode.
 *
 *   <div class="hl7">
 *     <section class="hl7-seg">
 *       <h4 class="hl7-seg-head"><span class="hl7-seg-id">PID</span> <span class="hl7-seg-name">患者标识</span></h4>
 *       <table class="hl7-fields"><tbody>
 *         <tr class="hl7-field" title="raw field text">
 *           <td class="hl7-pos">PID-5</td><td class="hl7-name">患者姓名</td><td class="hl7-value">…</td></tr>
 *
 * A single value is the cell's text. Several components (or repetitions, or
 * subcomponents) become lines <div class="hl7-comp"><span class="hl7-pos">PID-5.1</span>
 * <span class="hl7-text">张</span></div>; repetitions are numbered PID-3[2].1 (1-based,
 * only when there is more than one). HL7 null is <span class="hl7-null">""</span>.
 * Empty fields are left out unless options.showEmpty, which shows them as rows
 * with class "hl7-field hl7-empty". Decoded values may hold newlines (\.br\):
 * style .hl7-value with white-space: pre-wrap.
 * @param {string} text ER7 message
 * @param {string} [lang='zh'] 'zh' or 'en'
 * @param {{showEmpty?: boolean}} [options]
 * @returns {HTMLElement}
 */
export function renderHl7(text, lang = 'zh', options = {}) {
  const language = normalizeLang(lang);
  const showEmpty = Boolean(options?.showEmpty);
  const root = element('div', 'hl7');
  for (const segment of parseEr7(text).segments) {
    root.appendChild(renderSegment(segment, language, showEmpty));
  }
  return root;
}

// ---------------------------------------------------------------- parsing

/** Splits the text into segment lines, dropping MLLP framing and blank lines. */
function splitLines(text) {
  const source = typeof text === 'string' ? text : String(text ?? '');
  return source
    .split(LINE_BREAK)
    .map((line) => line.replace(LEADING_NOISE, '').replace(TRAILING_FRAME, ''))
    .filter((line) => line.trim() !== '');
}

/** The id when the line is an MSH/FHS/BHS header with a usable field separator. */
function headerId(line) {
  const id = line.slice(0, 3);
  return HEADER_SEGMENTS.has(id) && line.length > 3 && !NOT_A_DELIMITER.test(line[3]) ? id : undefined;
}

/**
 * Delimiters of a header line: MSH-1 is the field separator, MSH-2 the
 * component, repetition, escape and subcomponent characters (a 5th, the v2.7
 * truncation character, is ignored). Without MSH-2 the defaults apply; a short
 * MSH-2 leaves the missing delimiters unused ('').
 */
function readDelimiters(line) {
  const field = line[3];
  const encoding = line.slice(4).split(field, 1)[0] ?? '';
  if (encoding === '') return { ...DEFAULT_DELIMITERS, field };
  const pick = (i) => {
    const c = encoding[i] ?? '';
    return c === '' || NOT_A_DELIMITER.test(c) ? '' : c;
  };
  return {
    field,
    component: pick(0),
    repetition: pick(1),
    escape: pick(2),
    subcomponent: pick(3),
  };
}

/** Parses one line; anything that is not a segment becomes an '?' segment. */
function parseSegment(line, delimiters) {
  const id = line.slice(0, 3);
  if (headerId(line) !== undefined) return { id, fields: headerFields(id, line, delimiters) };
  if (SEGMENT_ID.test(id) && (line.length === 3 || line[3] === delimiters.field)) {
    const values = line.length === 3 ? [] : line.slice(4).split(delimiters.field);
    return { id, fields: values.map((value, i) => parseField(id, i + 1, value, delimiters)) };
  }
  return { id: '?', fields: [literalField('?', 1, line)] };
}

/** Fields of MSH/FHS/BHS: field 1 is the separator itself, field 2 the encoding characters. */
function headerFields(id, line, delimiters) {
  const [encoding, ...rest] = line.slice(4).split(delimiters.field);
  return [
    literalField(id, 1, delimiters.field),
    literalField(id, 2, encoding),
    ...rest.map((value, i) => parseField(id, i + 3, value, delimiters)),
  ];
}

/** A field shown as-is: not split, not decoded. */
function literalField(id, number, value) {
  return { position: `${id}-${number}`, number, value, repetitions: [[[value]]] };
}

function parseField(id, number, value, delimiters) {
  const repetitions = splitOn(value, delimiters.repetition).map((repetition) =>
    splitOn(repetition, delimiters.component).map((component) =>
      splitOn(component, delimiters.subcomponent).map((sub) => decodeEscapes(sub, delimiters)),
    ),
  );
  return { position: `${id}-${number}`, number, value, repetitions };
}

function splitOn(text, delimiter) {
  return delimiter ? text.split(delimiter) : [text];
}

// ---------------------------------------------------------------- escapes

/**
 * Decodes HL7 escape sequences in one subcomponent. Consecutive \Xhh..\
 * sequences are decoded together, so a UTF-8 character split across them
 * survives. Unknown or unterminated escapes are kept verbatim.
 */
function decodeEscapes(text, delimiters) {
  const esc = delimiters.escape;
  if (!esc || !text.includes(esc)) return text;
  let out = '';
  let bytes = [];
  const flush = () => {
    if (bytes.length > 0) out += decodeBytes(bytes);
    bytes = [];
  };
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf(esc, i);
    const end = start < 0 ? -1 : text.indexOf(esc, start + 1);
    if (end < 0) {
      flush();
      out += text.slice(i);
      break;
    }
    if (start > i) {
      flush();
      out += text.slice(i, start);
    }
    const body = text.slice(start + 1, end);
    const hex = HEX_ESCAPE.exec(body);
    if (hex) {
      for (const b of hexBytes(hex[1])) bytes.push(b);
    } else {
      flush();
      out += translateEscape(body, delimiters) ?? text.slice(start, end + 1);
    }
    i = end + 1;
  }
  flush();
  return out;
}

/** The text for one escape body (between the escape characters), or undefined when unknown. */
function translateEscape(body, delimiters) {
  switch (body) {
    case 'F':
      return delimiters.field;
    case 'S':
      return delimiters.component;
    case 'T':
      return delimiters.subcomponent;
    case 'R':
      return delimiters.repetition;
    case 'E':
      return delimiters.escape;
    case 'H': // start highlighting
    case 'N': // normal text
      return '';
    default:
      return formattingEscape(body);
  }
}

/** Formatted-text commands (\.br\, \.sp n\, \.sk n\, \.ce\, \.fi\, \.nf\, \.in n\, \.ti n\). */
function formattingEscape(body) {
  const match = /^\.(br|sp|sk|ce|fi|nf|in|ti)\s*([+-]?\d+)?$/.exec(body);
  if (!match) return undefined;
  const count = match[2] === undefined ? 1 : Math.abs(Number(match[2]));
  switch (match[1]) {
    case 'br':
    case 'ce':
      return match[2] === undefined ? '\n' : undefined;
    case 'sp':
      return '\n'.repeat(Math.min(Math.max(count, 1), MAX_SKIPPED_LINES));
    case 'sk':
      return ' '.repeat(Math.min(count, MAX_SKIPPED_SPACES));
    default: // fill mode, no-fill mode, indents: no text of their own
      return '';
  }
}

function hexBytes(hex) {
  const bytes = [];
  for (let i = 0; i < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

/** UTF-8 when the bytes are valid UTF-8, else Latin-1 (one character per byte). */
function decodeBytes(bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return bytes.map((b) => String.fromCharCode(b)).join('');
  }
}

// ---------------------------------------------------------------- rendering

function normalizeLang(lang) {
  return String(lang ?? '').toLowerCase().startsWith('en') ? 'en' : 'zh';
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A one-space separator, only where the document can make text nodes. */
function appendSpace(parent) {
  if (typeof document.createTextNode === 'function') parent.appendChild(document.createTextNode(' '));
}

function renderSegment(segment, lang, showEmpty) {
  const section = element('section', 'hl7-seg');
  const head = element('h4', 'hl7-seg-head');
  head.appendChild(element('span', 'hl7-seg-id', segment.id));
  const name = segment.id === '?' ? UNPARSED_NAME[lang] : segmentName(segment.id, lang);
  if (name !== undefined) {
    appendSpace(head);
    head.appendChild(element('span', 'hl7-seg-name', name));
  }
  section.appendChild(head);
  const table = element('table', 'hl7-fields');
  const body = element('tbody');
  for (const field of segment.fields) {
    if (field.value === '' && !showEmpty) continue;
    body.appendChild(renderField(segment.id, field, lang));
  }
  table.appendChild(body);
  section.appendChild(table);
  return section;
}

function renderField(segmentId, field, lang) {
  const row = element('tr', field.value === '' ? 'hl7-field hl7-empty' : 'hl7-field');
  row.setAttribute('title', field.value);
  row.appendChild(element('td', 'hl7-pos', field.position));
  row.appendChild(element('td', 'hl7-name', fieldName(segmentId, field.number, lang) ?? ''));
  row.appendChild(renderValue(field));
  return row;
}

function renderValue(field) {
  const cell = element('td', 'hl7-value');
  const lines = valueLines(field);
  if (lines.length === 1 && lines[0].position === field.position) {
    if (lines[0].text === '""') cell.appendChild(element('span', 'hl7-null', '""'));
    else cell.textContent = lines[0].text;
    return cell;
  }
  for (const line of lines) {
    const div = element('div', 'hl7-comp');
    div.appendChild(element('span', 'hl7-pos', line.position));
    appendSpace(div);
    div.appendChild(element('span', line.text === '""' ? 'hl7-null' : 'hl7-text', line.text));
    cell.appendChild(div);
  }
  return cell;
}

/**
 * The non-empty leaves of a field with their positions: PID-5 for a plain
 * value, PID-5.1 for components, PID-3[2].1 for repetitions (only when there
 * are several), PID-3.4.2 for subcomponents.
 * @returns {{position: string, text: string}[]}
 */
function valueLines(field) {
  const lines = [];
  const { repetitions, position } = field;
  repetitions.forEach((components, r) => {
    const repPos = repetitions.length > 1 ? `${position}[${r + 1}]` : position;
    components.forEach((subs, c) => {
      const compPos = components.length > 1 ? `${repPos}.${c + 1}` : repPos;
      subs.forEach((text, s) => {
        if (text !== '') lines.push({ position: subs.length > 1 ? `${compPos}.${s + 1}` : compPos, text });
      });
    });
  });
  return lines;
}

// ---------------------------------------------------------------- tables

/** Segment descriptions: [English (HL7 v2.5.1), Chinese]. */
const SEGMENT_NAMES = {
  MSH: ['Message Header', '消息头'],
  EVN: ['Event Type', '事件类型'],
  PID: ['Patient Identification', '患者标识'],
  PD1: ['Patient Additional Demographic', '患者附加人口统计信息'],
  NK1: ['Next of Kin / Associated Parties', '亲属/关联方'],
  PV1: ['Patient Visit', '患者就诊信息'],
  PV2: ['Patient Visit - Additional Information', '患者就诊附加信息'],
  MRG: ['Merge Patient Information', '合并患者信息'],
  ORC: ['Common Order', '通用医嘱'],
  OBR: ['Observation Request', '观察请求'],
  OBX: ['Observation/Result', '观察结果'],
  NTE: ['Notes and Comments', '备注和注释'],
  AL1: ['Patient Allergy Information', '患者过敏信息'],
  DG1: ['Diagnosis', '诊断'],
  PR1: ['Procedures', '手术操作'],
  IN1: ['Insurance', '保险'],
  GT1: ['Guarantor', '担保人'],
  MSA: ['Message Acknowledgment', '消息确认'],
  ERR: ['Error', '错误'],
  QRD: ['Original-Style Query Definition', '原始格式查询定义'],
  QAK: ['Query Acknowledgment', '查询确认'],
  SPM: ['Specimen', '标本'],
  TQ1: ['Timing/Quantity', '时间/数量'],
  ROL: ['Role', '角色'],
  FHS: ['File Header', '文件头'],
  FTS: ['File Trailer', '文件尾'],
  BHS: ['Batch Header', '批头'],
  BTS: ['Batch Trailer', '批尾'],
  TXA: ['Transcription Document Header', '转录文档头'],
  RXA: ['Pharmacy/Treatment Administration', '药物/治疗给药'],
  SCH: ['Scheduling Activity Information', '预约活动信息'],
  AIS: ['Appointment Information', '预约信息'],
  // Names only (no field table):
  ACC: ['Accident', '意外事故'],
  AIG: ['Appointment Information - General Resource', '预约信息 - 通用资源'],
  AIL: ['Appointment Information - Location Resource', '预约信息 - 位置资源'],
  AIP: ['Appointment Information - Personnel Resource', '预约信息 - 人员资源'],
  ARQ: ['Appointment Request', '预约请求'],
  CTD: ['Contact Data', '联系数据'],
  CTI: ['Clinical Trial Identification', '临床试验标识'],
  DB1: ['Disability', '残疾信息'],
  DSC: ['Continuation Pointer', '连续指针'],
  EQU: ['Equipment Detail', '设备详情'],
  IAM: ['Patient Adverse Reaction Information', '患者不良反应信息'],
  IN2: ['Insurance Additional Information', '保险附加信息'],
  IN3: ['Insurance Additional Information, Certification', '保险附加信息（认证）'],
  LOC: ['Location Identification', '位置标识'],
  MFE: ['Master File Entry', '主文件条目'],
  MFI: ['Master File Identification', '主文件标识'],
  ODS: ['Dietary Orders, Supplements, and Preferences', '饮食医嘱、补充和偏好'],
  ODT: ['Diet Tray Instructions', '餐盘说明'],
  OM1: ['General Segment', '观察定义通用段'],
  PRA: ['Practitioner Detail', '从业人员详情'],
  PRD: ['Provider Data', '提供者数据'],
  QPD: ['Query Parameter Definition', '查询参数定义'],
  QRF: ['Original Style Query Filter', '原始格式查询过滤'],
  RCP: ['Response Control Parameter', '响应控制参数'],
  RGS: ['Resource Group', '资源组'],
  RXC: ['Pharmacy/Treatment Component Order', '药物/治疗成分医嘱'],
  RXD: ['Pharmacy/Treatment Dispense', '药物/治疗发药'],
  RXE: ['Pharmacy/Treatment Encoded Order', '药物/治疗编码医嘱'],
  RXG: ['Pharmacy/Treatment Give', '药物/治疗给予'],
  RXO: ['Pharmacy/Treatment Order', '药物/治疗医嘱'],
  RXR: ['Pharmacy/Treatment Route', '药物/治疗给药途径'],
  SAC: ['Specimen Container Detail', '标本容器详情'],
  SFT: ['Software Segment', '软件段'],
  STF: ['Staff Identification', '人员标识'],
  TCD: ['Test Code Detail', '检验代码详情'],
  UAC: ['User Authentication Credential', '用户认证凭据'],
};

/**
 * Field names per segment, HL7 v2.5.1: English as in the standard, Chinese as
 * used by Chinese HL7 implementations. Index = field number (index 0 unused).
 */
const FIELD_NAMES = {
  MSH: {
    en: [
      null, 'Field Separator', 'Encoding Characters', 'Sending Application', 'Sending Facility',
      'Receiving Application', 'Receiving Facility', 'Date/Time Of Message', 'Security', 'Message Type',
      'Message Control ID', 'Processing ID', 'Version ID', 'Sequence Number', 'Continuation Pointer',
      'Accept Acknowledgment Type', 'Application Acknowledgment Type', 'Country Code', 'Character Set',
      'Principal Language Of Message', 'Alternate Character Set Handling Scheme',
      'Message Profile Identifier',
    ],
    zh: [
      null, '字段分隔符', '编码字符', '发送应用程序', '发送机构', '接收应用程序', '接收机构', '消息日期时间',
      '安全性', '消息类型', '消息控制ID', '处理ID', '版本ID', '序列号', '连续指针', '接受确认类型',
      '应用程序确认类型', '国家代码', '字符集', '消息主要语言', '替代字符集处理方案', '消息配置文件标识符',
    ],
  },
  EVN: {
    en: [
      null, 'Event Type Code', 'Recorded Date/Time', 'Date/Time Planned Event', 'Event Reason Code',
      'Operator ID', 'Event Occurred', 'Event Facility',
    ],
    zh: [
      null, '事件类型代码', '记录日期时间', '计划事件日期时间', '事件原因代码', '操作员ID', '事件发生时间',
      '事件发生机构',
    ],
  },
  PID: {
    en: [
      null, 'Set ID - PID', 'Patient ID', 'Patient Identifier List', 'Alternate Patient ID - PID',
      'Patient Name', "Mother's Maiden Name", 'Date/Time of Birth', 'Administrative Sex', 'Patient Alias',
      'Race', 'Patient Address', 'County Code', 'Phone Number - Home', 'Phone Number - Business',
      'Primary Language', 'Marital Status', 'Religion', 'Patient Account Number', 'SSN Number - Patient',
      "Driver's License Number - Patient", "Mother's Identifier", 'Ethnic Group', 'Birth Place',
      'Multiple Birth Indicator', 'Birth Order', 'Citizenship', 'Veterans Military Status', 'Nationality',
      'Patient Death Date and Time', 'Patient Death Indicator', 'Identity Unknown Indicator',
      'Identity Reliability Code', 'Last Update Date/Time', 'Last Update Facility', 'Species Code',
      'Breed Code', 'Strain', 'Production Class Code', 'Tribal Citizenship',
    ],
    zh: [
      null, '序号 - PID', '患者ID', '患者标识符列表', '备用患者ID - PID', '患者姓名', '母亲婚前姓氏',
      '出生日期时间', '性别', '患者别名', '种族', '患者地址', '县/区代码', '家庭电话', '工作电话', '主要语言',
      '婚姻状况', '宗教信仰', '患者账号', '社会保障号 - 患者', '驾驶证号 - 患者', '母亲标识符', '民族', '出生地',
      '多胞胎标志', '出生顺序', '公民身份', '退伍军人身份', '国籍', '死亡日期时间', '死亡标志', '身份不明标志',
      '身份可靠性代码', '最后更新日期时间', '最后更新机构', '物种代码', '品种代码', '品系', '生产类别代码', '部落公民身份',
    ],
  },
  PD1: {
    en: [
      null, 'Living Dependency', 'Living Arrangement', 'Patient Primary Facility',
      'Patient Primary Care Provider Name and ID No', 'Student Indicator', 'Handicap', 'Living Will Code',
      'Organ Donor Code', 'Separate Bill', 'Duplicate Patient', 'Publicity Code', 'Protection Indicator',
      'Protection Indicator Effective Date', 'Place of Worship', 'Advance Directive Code',
      'Immunization Registry Status', 'Immunization Registry Status Effective Date',
      'Publicity Code Effective Date', 'Military Branch', 'Military Rank/Grade', 'Military Status',
    ],
    zh: [
      null, '生活依赖状况', '居住安排', '患者首选医疗机构', '患者初级保健医生姓名及编号', '学生标志', '残疾情况',
      '生前预嘱代码', '器官捐献代码', '单独账单', '重复患者', '公开代码', '保护标志', '保护标志生效日期', '礼拜场所',
      '预先医疗指示代码', '免疫登记状态', '免疫登记状态生效日期', '公开代码生效日期', '军种', '军衔/级别', '服役状态',
    ],
  },
  NK1: {
    en: [
      null, 'Set ID - NK1', 'NK Name', 'Relationship', 'Address', 'Phone Number', 'Business Phone Number',
      'Contact Role', 'Start Date', 'End Date', 'Next of Kin / Associated Parties Job Title',
      'Next of Kin / Associated Parties Job Code/Class', 'Next of Kin / Associated Parties Employee Number',
      'Organization Name - NK1', 'Marital Status', 'Administrative Sex', 'Date/Time of Birth',
      'Living Dependency', 'Ambulatory Status', 'Citizenship', 'Primary Language', 'Living Arrangement',
      'Publicity Code', 'Protection Indicator', 'Student Indicator', 'Religion', "Mother's Maiden Name",
      'Nationality', 'Ethnic Group', 'Contact Reason', "Contact Person's Name",
      "Contact Person's Telephone Number", "Contact Person's Address",
      "Next of Kin/Associated Party's Identifiers", 'Job Status', 'Race', 'Handicap',
      'Contact Person Social Security Number', 'Next of Kin Birth Place', 'VIP Indicator',
    ],
    zh: [
      null, '序号 - NK1', '亲属姓名', '关系', '地址', '电话号码', '工作电话', '联系人角色', '开始日期',
      '结束日期', '亲属/关联方职务', '亲属/关联方职业代码/类别', '亲属/关联方员工编号', '组织名称 - NK1', '婚姻状况',
      '性别', '出生日期时间', '生活依赖状况', '行动能力状况', '公民身份', '主要语言', '居住安排', '公开代码',
      '保护标志', '学生标志', '宗教信仰', '母亲婚前姓氏', '国籍', '民族', '联系原因', '联系人姓名', '联系人电话',
      '联系人地址', '亲属/关联方标识符', '工作状态', '种族', '残疾情况', '联系人社会保障号', '亲属出生地', 'VIP标志',
    ],
  },
  PV1: {
    en: [
      null, 'Set ID - PV1', 'Patient Class', 'Assigned Patient Location', 'Admission Type', 'Preadmit Number',
      'Prior Patient Location', 'Attending Doctor', 'Referring Doctor', 'Consulting Doctor',
      'Hospital Service', 'Temporary Location', 'Preadmit Test Indicator', 'Re-admission Indicator',
      'Admit Source', 'Ambulatory Status', 'VIP Indicator', 'Admitting Doctor', 'Patient Type',
      'Visit Number', 'Financial Class', 'Charge Price Indicator', 'Courtesy Code', 'Credit Rating',
      'Contract Code', 'Contract Effective Date', 'Contract Amount', 'Contract Period', 'Interest Code',
      'Transfer to Bad Debt Code', 'Transfer to Bad Debt Date', 'Bad Debt Agency Code',
      'Bad Debt Transfer Amount', 'Bad Debt Recovery Amount', 'Delete Account Indicator',
      'Delete Account Date', 'Discharge Disposition', 'Discharged to Location', 'Diet Type',
      'Servicing Facility', 'Bed Status', 'Account Status', 'Pending Location', 'Prior Temporary Location',
      'Admit Date/Time', 'Discharge Date/Time', 'Current Patient Balance', 'Total Charges',
      'Total Adjustments', 'Total Payments', 'Alternate Visit ID', 'Visit Indicator',
      'Other Healthcare Provider',
    ],
    zh: [
      null, '序号 - PV1', '患者类别', '患者所在位置', '入院类型', '预入院号', '原患者位置', '主治医生',
      '转诊医生', '会诊医生', '医疗服务科室', '临时位置', '预入院检查标志', '再入院标志', '入院来源', '行动能力状况',
      'VIP标志', '收治医生', '患者类型', '就诊号', '费用类别', '收费价格标志', '优惠代码', '信用等级', '合同代码',
      '合同生效日期', '合同金额', '合同期限', '利息代码', '转坏账代码', '转坏账日期', '坏账代理机构代码', '坏账转出金额',
      '坏账收回金额', '删除账户标志', '删除账户日期', '出院处置', '出院去向', '饮食类型', '服务机构', '床位状态',
      '账户状态', '待定位置', '原临时位置', '入院日期时间', '出院日期时间', '患者当前余额', '总费用', '总调整额',
      '总支付额', '备用就诊ID', '就诊标志', '其他医疗服务提供者',
    ],
  },
  PV2: {
    en: [
      null, 'Prior Pending Location', 'Accommodation Code', 'Admit Reason', 'Transfer Reason',
      'Patient Valuables', 'Patient Valuables Location', 'Visit User Code', 'Expected Admit Date/Time',
      'Expected Discharge Date/Time', 'Estimated Length of Inpatient Stay', 'Actual Length of Inpatient Stay',
      'Visit Description', 'Referral Source Code', 'Previous Service Date',
      'Employment Illness Related Indicator', 'Purge Status Code', 'Purge Status Date',
      'Special Program Code', 'Retention Indicator', 'Expected Number of Insurance Plans',
      'Visit Publicity Code', 'Visit Protection Indicator', 'Clinic Organization Name', 'Patient Status Code',
      'Visit Priority Code', 'Previous Treatment Date', 'Expected Discharge Disposition',
      'Signature on File Date', 'First Similar Illness Date', 'Patient Charge Adjustment Code',
      'Recurring Service Code', 'Billing Media Code', 'Expected Surgery Date and Time',
      'Military Partnership Code', 'Military Non-Availability Code', 'Newborn Baby Indicator',
      'Baby Detained Indicator', 'Mode of Arrival Code', 'Recreational Drug Use Code',
      'Admission Level of Care Code', 'Precaution Code', 'Patient Condition Code', 'Living Will Code',
      'Organ Donor Code', 'Advance Directive Code', 'Patient Status Effective Date',
      'Expected LOA Return Date/Time', 'Expected Pre-admission Testing Date/Time', 'Notify Clergy Code',
    ],
    zh: [
      null, '原待定位置', '住宿代码', '入院原因', '转移原因', '患者贵重物品', '贵重物品存放位置', '就诊用户代码',
      '预计入院日期时间', '预计出院日期时间', '预计住院天数', '实际住院天数', '就诊描述', '转诊来源代码', '上次服务日期',
      '工伤相关标志', '清除状态代码', '清除状态日期', '特殊计划代码', '保留标志', '预计保险计划数', '就诊公开代码',
      '就诊保护标志', '门诊机构名称', '患者状态代码', '就诊优先级代码', '上次治疗日期', '预计出院处置', '签名存档日期',
      '首次类似疾病日期', '患者费用调整代码', '周期性服务代码', '账单介质代码', '预计手术日期时间', '军队合作代码',
      '军队无可用资源代码', '新生儿标志', '婴儿滞留标志', '到达方式代码', '娱乐性药物使用代码', '入院护理级别代码',
      '预防措施代码', '患者病情代码', '生前预嘱代码', '器官捐献代码', '预先医疗指示代码', '患者状态生效日期',
      '预计请假返回日期时间', '预计入院前检查日期时间', '通知神职人员代码',
    ],
  },
  MRG: {
    en: [
      null, 'Prior Patient Identifier List', 'Prior Alternate Patient ID', 'Prior Patient Account Number',
      'Prior Patient ID', 'Prior Visit Number', 'Prior Alternate Visit ID', 'Prior Patient Name',
    ],
    zh: [
      null, '原患者标识符列表', '原备用患者ID', '原患者账号', '原患者ID', '原就诊号', '原备用就诊ID', '原患者姓名',
    ],
  },
  ORC: {
    en: [
      null, 'Order Control', 'Placer Order Number', 'Filler Order Number', 'Placer Group Number',
      'Order Status', 'Response Flag', 'Quantity/Timing', 'Parent Order', 'Date/Time of Transaction',
      'Entered By', 'Verified By', 'Ordering Provider', "Enterer's Location", 'Call Back Phone Number',
      'Order Effective Date/Time', 'Order Control Code Reason', 'Entering Organization', 'Entering Device',
      'Action By', 'Advanced Beneficiary Notice Code', 'Ordering Facility Name', 'Ordering Facility Address',
      'Ordering Facility Phone Number', 'Ordering Provider Address', 'Order Status Modifier',
      'Advanced Beneficiary Notice Override Reason', "Filler's Expected Availability Date/Time",
      'Confidentiality Code', 'Order Type', 'Enterer Authorization Mode',
      'Parent Universal Service Identifier',
    ],
    zh: [
      null, '医嘱控制', '申请方医嘱号', '执行方医嘱号', '申请方组号', '医嘱状态', '响应标志', '数量/时间', '父医嘱',
      '事务日期时间', '录入人', '核对人', '开单医生', '录入人位置', '回拨电话', '医嘱生效日期时间', '医嘱控制原因',
      '录入机构', '录入设备', '执行人', '预先受益人通知代码', '开单机构名称', '开单机构地址', '开单机构电话',
      '开单医生地址', '医嘱状态修饰符', '预先受益人通知覆盖原因', '执行方预计可用日期时间', '保密代码', '医嘱类型',
      '录入授权方式', '父通用服务标识符',
    ],
  },
  OBR: {
    en: [
      null, 'Set ID - OBR', 'Placer Order Number', 'Filler Order Number', 'Universal Service Identifier',
      'Priority - OBR', 'Requested Date/Time', 'Observation Date/Time', 'Observation End Date/Time',
      'Collection Volume', 'Collector Identifier', 'Specimen Action Code', 'Danger Code',
      'Relevant Clinical Information', 'Specimen Received Date/Time', 'Specimen Source', 'Ordering Provider',
      'Order Callback Phone Number', 'Placer Field 1', 'Placer Field 2', 'Filler Field 1', 'Filler Field 2',
      'Results Rpt/Status Chng - Date/Time', 'Charge to Practice', 'Diagnostic Serv Sect ID', 'Result Status',
      'Parent Result', 'Quantity/Timing', 'Result Copies To', 'Parent Number', 'Transportation Mode',
      'Reason for Study', 'Principal Result Interpreter', 'Assistant Result Interpreter', 'Technician',
      'Transcriptionist', 'Scheduled Date/Time', 'Number of Sample Containers',
      'Transport Logistics of Collected Sample', "Collector's Comment",
      'Transport Arrangement Responsibility', 'Transport Arranged', 'Escort Required',
      'Planned Patient Transport Comment', 'Procedure Code', 'Procedure Code Modifier',
      'Placer Supplemental Service Information', 'Filler Supplemental Service Information',
      'Medically Necessary Duplicate Procedure Reason', 'Result Handling',
      'Parent Universal Service Identifier',
    ],
    zh: [
      null, '序号 - OBR', '申请方医嘱号', '执行方医嘱号', '通用服务标识符', '优先级 - OBR', '申请日期时间',
      '观察日期时间', '观察结束日期时间', '采集量', '采集人标识符', '标本操作代码', '危险代码', '相关临床信息',
      '标本接收日期时间', '标本来源', '开单医生', '医嘱回拨电话', '申请方字段1', '申请方字段2', '执行方字段1',
      '执行方字段2', '结果报告/状态变更日期时间', '执业机构收费', '诊断服务部门ID', '结果状态', '父结果', '数量/时间',
      '结果抄送', '父编号', '转运方式', '检查原因', '主要结果解释者', '辅助结果解释者', '技师', '转录员',
      '预约日期时间', '样本容器数', '已采集样本运送物流', '采集人备注', '运送安排责任方', '已安排运送', '需要陪同',
      '计划患者转运备注', '操作代码', '操作代码修饰符', '申请方补充服务信息', '执行方补充服务信息', '医学必要重复操作原因',
      '结果处理', '父通用服务标识符',
    ],
  },
  OBX: {
    en: [
      null, 'Set ID - OBX', 'Value Type', 'Observation Identifier', 'Observation Sub-ID', 'Observation Value',
      'Units', 'References Range', 'Abnormal Flags', 'Probability', 'Nature of Abnormal Test',
      'Observation Result Status', 'Effective Date of Reference Range', 'User Defined Access Checks',
      'Date/Time of the Observation', "Producer's ID", 'Responsible Observer', 'Observation Method',
      'Equipment Instance Identifier', 'Date/Time of the Analysis', 'Reserved for harmonization with V2.6',
      'Reserved for harmonization with V2.6', 'Reserved for harmonization with V2.6',
      'Performing Organization Name', 'Performing Organization Address',
      'Performing Organization Medical Director',
    ],
    zh: [
      null, '序号 - OBX', '值类型', '观察标识符', '观察子ID', '观察值', '单位', '参考范围', '异常标志',
      '概率', '异常检验性质', '观察结果状态', '参考范围生效日期', '用户定义访问检查', '观察日期时间', '生产者ID',
      '负责观察者', '观察方法', '设备实例标识符', '分析日期时间', '保留（与V2.6协调）', '保留（与V2.6协调）',
      '保留（与V2.6协调）', '执行机构名称', '执行机构地址', '执行机构医学主任',
    ],
  },
  NTE: {
    en: [
      null, 'Set ID - NTE', 'Source of Comment', 'Comment', 'Comment Type',
    ],
    zh: [
      null, '序号 - NTE', '注释来源', '注释', '注释类型',
    ],
  },
  AL1: {
    en: [
      null, 'Set ID - AL1', 'Allergen Type Code', 'Allergen Code/Mnemonic/Description',
      'Allergy Severity Code', 'Allergy Reaction Code', 'Identification Date',
    ],
    zh: [
      null, '序号 - AL1', '过敏原类型代码', '过敏原代码/助记符/描述', '过敏严重程度代码', '过敏反应代码', '识别日期',
    ],
  },
  DG1: {
    en: [
      null, 'Set ID - DG1', 'Diagnosis Coding Method', 'Diagnosis Code - DG1', 'Diagnosis Description',
      'Diagnosis Date/Time', 'Diagnosis Type', 'Major Diagnostic Category', 'Diagnostic Related Group',
      'DRG Approval Indicator', 'DRG Grouper Review Code', 'Outlier Type', 'Outlier Days', 'Outlier Cost',
      'Grouper Version And Type', 'Diagnosis Priority', 'Diagnosing Clinician', 'Diagnosis Classification',
      'Confidential Indicator', 'Attestation Date/Time', 'Diagnosis Identifier', 'Diagnosis Action Code',
    ],
    zh: [
      null, '序号 - DG1', '诊断编码方法', '诊断代码 - DG1', '诊断描述', '诊断日期时间', '诊断类型',
      '主要诊断类别', '诊断相关组', 'DRG审批标志', 'DRG分组审核代码', '异常值类型', '异常值天数', '异常值费用',
      '分组器版本和类型', '诊断优先级', '诊断医生', '诊断分类', '保密标志', '证明日期时间', '诊断标识符', '诊断动作代码',
    ],
  },
  PR1: {
    en: [
      null, 'Set ID - PR1', 'Procedure Coding Method', 'Procedure Code', 'Procedure Description',
      'Procedure Date/Time', 'Procedure Functional Type', 'Procedure Minutes', 'Anesthesiologist',
      'Anesthesia Code', 'Anesthesia Minutes', 'Surgeon', 'Procedure Practitioner', 'Consent Code',
      'Procedure Priority', 'Associated Diagnosis Code', 'Procedure Code Modifier', 'Procedure DRG Type',
      'Tissue Type Code', 'Procedure Identifier', 'Procedure Action Code',
    ],
    zh: [
      null, '序号 - PR1', '手术操作编码方法', '手术操作代码', '手术操作描述', '手术操作日期时间', '手术操作功能类型',
      '手术操作时长（分钟）', '麻醉医生', '麻醉方式代码', '麻醉时长（分钟）', '手术医生', '手术操作执行者', '知情同意代码',
      '手术操作优先级', '相关诊断代码', '手术操作代码修饰符', '手术操作DRG类型', '组织类型代码', '手术操作标识符',
      '手术操作动作代码',
    ],
  },
  IN1: {
    en: [
      null, 'Set ID - IN1', 'Insurance Plan ID', 'Insurance Company ID', 'Insurance Company Name',
      'Insurance Company Address', 'Insurance Co Contact Person', 'Insurance Co Phone Number', 'Group Number',
      'Group Name', "Insured's Group Emp ID", "Insured's Group Emp Name", 'Plan Effective Date',
      'Plan Expiration Date', 'Authorization Information', 'Plan Type', 'Name Of Insured',
      "Insured's Relationship To Patient", "Insured's Date Of Birth", "Insured's Address",
      'Assignment Of Benefits', 'Coordination Of Benefits', 'Coord Of Ben. Priority',
      'Notice Of Admission Flag', 'Notice Of Admission Date', 'Report Of Eligibility Flag',
      'Report Of Eligibility Date', 'Release Information Code', 'Pre-Admit Cert', 'Verification Date/Time',
      'Verification By', 'Type Of Agreement Code', 'Billing Status', 'Lifetime Reserve Days',
      'Delay Before L.R. Day', 'Company Plan Code', 'Policy Number', 'Policy Deductible',
      'Policy Limit - Amount', 'Policy Limit - Days', 'Room Rate - Semi-Private', 'Room Rate - Private',
      "Insured's Employment Status", "Insured's Administrative Sex", "Insured's Employer's Address",
      'Verification Status', 'Prior Insurance Plan ID', 'Coverage Type', 'Handicap', "Insured's ID Number",
      'Signature Code', 'Signature Code Date', "Insured's Birth Place", 'VIP Indicator',
    ],
    zh: [
      null, '序号 - IN1', '保险计划ID', '保险公司ID', '保险公司名称', '保险公司地址', '保险公司联系人',
      '保险公司电话', '团体编号', '团体名称', '被保险人团体雇员ID', '被保险人团体雇员姓名', '计划生效日期', '计划到期日期',
      '授权信息', '计划类型', '被保险人姓名', '被保险人与患者关系', '被保险人出生日期', '被保险人地址', '受益转让',
      '受益协调', '受益协调优先级', '入院通知标志', '入院通知日期', '资格报告标志', '资格报告日期', '信息发布代码',
      '入院前认证', '核实日期时间', '核实人', '协议类型代码', '结算状态', '终身储备天数', '终身储备天数前延迟',
      '公司计划代码', '保单号', '保单免赔额', '保单限额 - 金额', '保单限额 - 天数', '房费 - 半私人病房',
      '房费 - 私人病房', '被保险人就业状况', '被保险人性别', '被保险人雇主地址', '核实状态', '原保险计划ID',
      '保险覆盖类型', '残疾情况', '被保险人ID号', '签名代码', '签名代码日期', '被保险人出生地', 'VIP标志',
    ],
  },
  GT1: {
    en: [
      null, 'Set ID - GT1', 'Guarantor Number', 'Guarantor Name', 'Guarantor Spouse Name',
      'Guarantor Address', 'Guarantor Ph Num - Home', 'Guarantor Ph Num - Business',
      'Guarantor Date/Time Of Birth', 'Guarantor Administrative Sex', 'Guarantor Type',
      'Guarantor Relationship', 'Guarantor SSN', 'Guarantor Date - Begin', 'Guarantor Date - End',
      'Guarantor Priority', 'Guarantor Employer Name', 'Guarantor Employer Address',
      'Guarantor Employer Phone Number', 'Guarantor Employee ID Number', 'Guarantor Employment Status',
      'Guarantor Organization Name', 'Guarantor Billing Hold Flag', 'Guarantor Credit Rating Code',
      'Guarantor Death Date And Time', 'Guarantor Death Flag', 'Guarantor Charge Adjustment Code',
      'Guarantor Household Annual Income', 'Guarantor Household Size', 'Guarantor Employer ID Number',
      'Guarantor Marital Status Code', 'Guarantor Hire Effective Date', 'Employment Stop Date',
      'Living Dependency', 'Ambulatory Status', 'Citizenship', 'Primary Language', 'Living Arrangement',
      'Publicity Code', 'Protection Indicator', 'Student Indicator', 'Religion', "Mother's Maiden Name",
      'Nationality', 'Ethnic Group', "Contact Person's Name", "Contact Person's Telephone Number",
      'Contact Reason', 'Contact Relationship', 'Job Title', 'Job Code/Class',
      "Guarantor Employer's Organization Name", 'Handicap', 'Job Status', 'Guarantor Financial Class',
      'Guarantor Race', 'Guarantor Birth Place', 'VIP Indicator',
    ],
    zh: [
      null, '序号 - GT1', '担保人编号', '担保人姓名', '担保人配偶姓名', '担保人地址', '担保人家庭电话',
      '担保人工作电话', '担保人出生日期时间', '担保人性别', '担保人类型', '担保人关系', '担保人社会保障号', '担保开始日期',
      '担保结束日期', '担保人优先级', '担保人雇主名称', '担保人雇主地址', '担保人雇主电话', '担保人员工ID号',
      '担保人就业状况', '担保人组织名称', '担保人账单冻结标志', '担保人信用等级代码', '担保人死亡日期时间', '担保人死亡标志',
      '担保人费用调整代码', '担保人家庭年收入', '担保人家庭人数', '担保人雇主ID号', '担保人婚姻状况代码', '担保人雇用生效日期',
      '雇用终止日期', '生活依赖状况', '行动能力状况', '公民身份', '主要语言', '居住安排', '公开代码', '保护标志',
      '学生标志', '宗教信仰', '母亲婚前姓氏', '国籍', '民族', '联系人姓名', '联系人电话', '联系原因', '联系人关系',
      '职务', '职业代码/类别', '担保人雇主组织名称', '残疾情况', '工作状态', '担保人费用类别', '担保人种族',
      '担保人出生地', 'VIP标志',
    ],
  },
  MSA: {
    en: [
      null, 'Acknowledgment Code', 'Message Control ID', 'Text Message', 'Expected Sequence Number',
      'Delayed Acknowledgment Type', 'Error Condition',
    ],
    zh: [
      null, '确认代码', '消息控制ID', '文本消息', '期望序列号', '延迟确认类型', '错误条件',
    ],
  },
  ERR: {
    en: [
      null, 'Error Code and Location', 'Error Location', 'HL7 Error Code', 'Severity',
      'Application Error Code', 'Application Error Parameter', 'Diagnostic Information', 'User Message',
      'Inform Person Indicator', 'Override Type', 'Override Reason Code', 'Help Desk Contact Point',
    ],
    zh: [
      null, '错误代码和位置', '错误位置', 'HL7错误代码', '严重程度', '应用程序错误代码', '应用程序错误参数',
      '诊断信息', '用户消息', '通知人员标志', '覆盖类型', '覆盖原因代码', '帮助台联系方式',
    ],
  },
  QRD: {
    en: [
      null, 'Query Date/Time', 'Query Format Code', 'Query Priority', 'Query ID', 'Deferred Response Type',
      'Deferred Response Date/Time', 'Quantity Limited Request', 'Who Subject Filter', 'What Subject Filter',
      'What Department Data Code', 'What Data Code Value Qual', 'Query Results Level',
    ],
    zh: [
      null, '查询日期时间', '查询格式代码', '查询优先级', '查询ID', '延迟响应类型', '延迟响应日期时间', '数量限制请求',
      '查询对象过滤条件', '查询内容过滤条件', '查询部门数据代码', '查询数据代码值限定', '查询结果级别',
    ],
  },
  QAK: {
    en: [
      null, 'Query Tag', 'Query Response Status', 'Message Query Name', 'Hit Count', 'This payload',
      'Hits remaining',
    ],
    zh: [
      null, '查询标签', '查询响应状态', '消息查询名称', '命中数', '本次返回数', '剩余命中数',
    ],
  },
  SPM: {
    en: [
      null, 'Set ID - SPM', 'Specimen ID', 'Specimen Parent IDs', 'Specimen Type', 'Specimen Type Modifier',
      'Specimen Additives', 'Specimen Collection Method', 'Specimen Source Site',
      'Specimen Source Site Modifier', 'Specimen Collection Site', 'Specimen Role',
      'Specimen Collection Amount', 'Grouped Specimen Count', 'Specimen Description',
      'Specimen Handling Code', 'Specimen Risk Code', 'Specimen Collection Date/Time',
      'Specimen Received Date/Time', 'Specimen Expiration Date/Time', 'Specimen Availability',
      'Specimen Reject Reason', 'Specimen Quality', 'Specimen Appropriateness', 'Specimen Condition',
      'Specimen Current Quantity', 'Number of Specimen Containers', 'Container Type', 'Container Condition',
      'Specimen Child Role',
    ],
    zh: [
      null, '序号 - SPM', '标本ID', '标本父ID', '标本类型', '标本类型修饰符', '标本添加剂', '标本采集方法',
      '标本来源部位', '标本来源部位修饰符', '标本采集部位', '标本角色', '标本采集量', '分组标本数', '标本描述',
      '标本处理代码', '标本风险代码', '标本采集日期时间', '标本接收日期时间', '标本过期日期时间', '标本可用性', '标本拒收原因',
      '标本质量', '标本适宜性', '标本状况', '标本当前数量', '标本容器数', '容器类型', '容器状况', '标本子角色',
    ],
  },
  TQ1: {
    en: [
      null, 'Set ID - TQ1', 'Quantity', 'Repeat Pattern', 'Explicit Time', 'Relative Time and Units',
      'Service Duration', 'Start date/time', 'End date/time', 'Priority', 'Condition text',
      'Text instruction', 'Conjunction', 'Occurrence duration', "Total occurrence's",
    ],
    zh: [
      null, '序号 - TQ1', '数量', '重复模式', '明确时间', '相对时间和单位', '服务持续时间', '开始日期时间',
      '结束日期时间', '优先级', '条件文本', '文本说明', '连接条件', '执行持续时间', '总执行次数',
    ],
  },
  ROL: {
    en: [
      null, 'Role Instance ID', 'Action Code', 'Role-ROL', 'Role Person', 'Role Begin Date/Time',
      'Role End Date/Time', 'Role Duration', 'Role Action Reason', 'Provider Type', 'Organization Unit Type',
      'Office/Home Address/Birthplace', 'Phone',
    ],
    zh: [
      null, '角色实例ID', '动作代码', '角色 - ROL', '角色人员', '角色开始日期时间', '角色结束日期时间',
      '角色持续时间', '角色动作原因', '提供者类型', '组织单元类型', '办公/家庭地址/出生地', '电话',
    ],
  },
  FHS: {
    en: [
      null, 'File Field Separator', 'File Encoding Characters', 'File Sending Application',
      'File Sending Facility', 'File Receiving Application', 'File Receiving Facility',
      'File Creation Date/Time', 'File Security', 'File Name/ID', 'File Header Comment', 'File Control ID',
      'Reference File Control ID',
    ],
    zh: [
      null, '文件字段分隔符', '文件编码字符', '文件发送应用程序', '文件发送机构', '文件接收应用程序', '文件接收机构',
      '文件创建日期时间', '文件安全性', '文件名称/ID', '文件头注释', '文件控制ID', '引用文件控制ID',
    ],
  },
  FTS: {
    en: [
      null, 'File Batch Count', 'File Trailer Comment',
    ],
    zh: [
      null, '文件批次数', '文件尾注释',
    ],
  },
  BHS: {
    en: [
      null, 'Batch Field Separator', 'Batch Encoding Characters', 'Batch Sending Application',
      'Batch Sending Facility', 'Batch Receiving Application', 'Batch Receiving Facility',
      'Batch Creation Date/Time', 'Batch Security', 'Batch Name/ID/Type', 'Batch Comment', 'Batch Control ID',
      'Reference Batch Control ID',
    ],
    zh: [
      null, '批字段分隔符', '批编码字符', '批发送应用程序', '批发送机构', '批接收应用程序', '批接收机构',
      '批创建日期时间', '批安全性', '批名称/ID/类型', '批注释', '批控制ID', '引用批控制ID',
    ],
  },
  BTS: {
    en: [
      null, 'Batch Message Count', 'Batch Comment', 'Batch Totals',
    ],
    zh: [
      null, '批消息数', '批注释', '批合计',
    ],
  },
  TXA: {
    en: [
      null, 'Set ID - TXA', 'Document Type', 'Document Content Presentation', 'Activity Date/Time',
      'Primary Activity Provider Code/Name', 'Origination Date/Time', 'Transcription Date/Time',
      'Edit Date/Time', 'Originator Code/Name', 'Assigned Document Authenticator',
      'Transcriptionist Code/Name', 'Unique Document Number', 'Parent Document Number', 'Placer Order Number',
      'Filler Order Number', 'Unique Document File Name', 'Document Completion Status',
      'Document Confidentiality Status', 'Document Availability Status', 'Document Storage Status',
      'Document Change Reason', 'Authentication Person, Time Stamp', 'Distributed Copies',
    ],
    zh: [
      null, '序号 - TXA', '文档类型', '文档内容表示', '活动日期时间', '主要活动提供者代码/姓名', '创建日期时间',
      '转录日期时间', '编辑日期时间', '创建者代码/姓名', '指定文档认证者', '转录员代码/姓名', '唯一文档编号', '父文档编号',
      '申请方医嘱号', '执行方医嘱号', '唯一文档文件名', '文档完成状态', '文档保密状态', '文档可用状态', '文档存储状态',
      '文档变更原因', '认证人及时间戳', '分发副本',
    ],
  },
  RXA: {
    en: [
      null, 'Give Sub-ID Counter', 'Administration Sub-ID Counter', 'Date/Time Start of Administration',
      'Date/Time End of Administration', 'Administered Code', 'Administered Amount', 'Administered Units',
      'Administered Dosage Form', 'Administration Notes', 'Administering Provider',
      'Administered-at Location', 'Administered Per', 'Administered Strength', 'Administered Strength Units',
      'Substance Lot Number', 'Substance Expiration Date', 'Substance Manufacturer Name',
      'Substance/Treatment Refusal Reason', 'Indication', 'Completion Status', 'Action Code - RXA',
      'System Entry Date/Time', 'Administered Drug Strength Volume',
      'Administered Drug Strength Volume Units', 'Administered Barcode Identifier', 'Pharmacy Order Type',
    ],
    zh: [
      null, '给药子ID计数器', '给药执行子ID计数器', '给药开始日期时间', '给药结束日期时间', '给药代码', '给药量',
      '给药单位', '给药剂型', '给药备注', '给药人', '给药地点', '给药时间单位', '给药强度', '给药强度单位', '药品批号',
      '药品有效期', '药品生产厂商', '拒绝用药原因', '适应症', '完成状态', '动作代码 - RXA', '系统录入日期时间',
      '给药药物强度体积', '给药药物强度体积单位', '给药条形码标识符', '药房医嘱类型',
    ],
  },
  SCH: {
    en: [
      null, 'Placer Appointment ID', 'Filler Appointment ID', 'Occurrence Number', 'Placer Group Number',
      'Schedule ID', 'Event Reason', 'Appointment Reason', 'Appointment Type', 'Appointment Duration',
      'Appointment Duration Units', 'Appointment Timing Quantity', 'Placer Contact Person',
      'Placer Contact Phone Number', 'Placer Contact Address', 'Placer Contact Location',
      'Filler Contact Person', 'Filler Contact Phone Number', 'Filler Contact Address',
      'Filler Contact Location', 'Entered By Person', 'Entered By Phone Number', 'Entered By Location',
      'Parent Placer Appointment ID', 'Parent Filler Appointment ID', 'Filler Status Code',
      'Placer Order Number', 'Filler Order Number',
    ],
    zh: [
      null, '申请方预约ID', '执行方预约ID', '发生序号', '申请方组号', '排班ID', '事件原因', '预约原因',
      '预约类型', '预约时长', '预约时长单位', '预约时间数量', '申请方联系人', '申请方联系电话', '申请方联系地址',
      '申请方联系位置', '执行方联系人', '执行方联系电话', '执行方联系地址', '执行方联系位置', '录入人', '录入人电话',
      '录入位置', '父申请方预约ID', '父执行方预约ID', '执行方状态代码', '申请方医嘱号', '执行方医嘱号',
    ],
  },
  AIS: {
    en: [
      null, 'Set ID - AIS', 'Segment Action Code', 'Universal Service Identifier', 'Start Date/Time',
      'Start Date/Time Offset', 'Start Date/Time Offset Units', 'Duration', 'Duration Units',
      'Allow Substitution Code', 'Filler Status Code', 'Placer Supplemental Service Information',
      'Filler Supplemental Service Information',
    ],
    zh: [
      null, '序号 - AIS', '段动作代码', '通用服务标识符', '开始日期时间', '开始日期时间偏移量', '开始日期时间偏移单位',
      '持续时间', '持续时间单位', '允许替代代码', '执行方状态代码', '申请方补充服务信息', '执行方补充服务信息',
    ],
  },
};
