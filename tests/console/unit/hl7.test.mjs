// Unit tests for ui-static/js/hl7.js (node --test tests/console/unit/).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';

import { looksLikeHl7, parseEr7, segmentName, fieldName, renderHl7 } from '../../../ui-static/js/hl7.js';

// ------------------------------------------------------------------ fixtures

/** ADT^A01 v2.5 from a HIS to an EMPI, with a Chinese patient and a Z-segment. */
const ADT_A01_LINES = [
  String.raw`MSH|^~\&|HIS|SZRMYY|EMPI|SZRMYY|20240315093000||ADT^A01^ADT_A01|MSG00001|P|2.5|||AL|NE|CHN|UNICODE UTF-8`,
  String.raw`EVN|A01|20240315093000|||0012^李^医生`,
  String.raw`PID|1||0001234567^^^SZRMYY^PI~110101198001011234^^^CHNMOH^ID||张^三^^^^^L||19800101|M|||人民路1号^^深圳市^广东省^518000^CHN^H||^PRN^PH^^^^^^^^^13800138000|||M||||||汉族`,
  String.raw`PV1|1|I|0301^0301-12^01^SZRMYY||||1001^王^五|||内科||||||||I|ZY20240315001`,
  String.raw`ZPV|1|VIP^贵宾`,
];
const ADT_A01 = ADT_A01_LINES.join('\r');

/** ORU^R01 v2.5.1 from a LIS: blood count with several OBX, an HL7 null and escapes. */
const ORU_R01 = [
  String.raw`MSH|^~\&|LIS|SZRMYY|HIS|SZRMYY|20240316101500||ORU^R01^ORU_R01|LIS0001|P|2.5.1|||AL|NE||UNICODE UTF-8`,
  String.raw`PID|1||0001234567^^^SZRMYY^PI||张^三||19800101|M`,
  String.raw`PV1|1|I|0301^0301-12^01`,
  String.raw`ORC|RE|A0001|L0001||CM`,
  String.raw`OBR|1|A0001|L0001|BLD001^血常规^LOCAL|||20240316080000|||||||||1001^王^五||||||20240316101000||LAB|F`,
  String.raw`OBX|1|NM|WBC^白细胞计数^LOCAL||6.5|10\S\9/L|3.5-9.5||||F|||20240316100000`,
  String.raw`OBX|2|NM|HGB^血红蛋白^LOCAL||98|g/L|130-175|L|||F|||20240316100000`,
  String.raw`OBX|3|NM|PLT^血小板计数^LOCAL||""|10\S\9/L|125-350||||F`,
  String.raw`OBX|4|ST|COMMENT^备注^LOCAL||标本轻度溶血\.br\请结合临床||||||F`,
  String.raw`NTE|1|L|检验者: 赵六`,
].join('\r');

const segment = (msg, id, occurrence = 1) =>
  msg.segments.find((s) => s.id === id && s.occurrence === occurrence);
const field = (msg, position, occurrence = 1) => {
  const [id, n] = position.split('-');
  return segment(msg, id, occurrence)?.fields.find((f) => f.number === Number(n));
};

// ------------------------------------------------------------------ looksLikeHl7

describe('looksLikeHl7', () => {
  test('recognises MSH, FHS and BHS headers after whitespace or MLLP framing', () => {
    assert.equal(looksLikeHl7(ADT_A01), true);
    assert.equal(looksLikeHl7('\x0bMSH|^~\\&|A'), true);
    assert.equal(looksLikeHl7('  \r\n\tMSH|^~\\&|A'), true);
    assert.equal(looksLikeHl7('FHS|^~\\&|A'), true);
    assert.equal(looksLikeHl7('BHS|^~\\&|A'), true);
    assert.equal(looksLikeHl7('MSH#$@!%#A'), true);
  });

  test('rejects everything else', () => {
    for (const text of ['', '   ', '{"resourceType":"Patient"}', '<ClinicalDocument/>', 'MSHX|', 'MSH', 'MSH |',
      'PID|1||123', 'msh|^~\\&', 'hello MSH|']) {
      assert.equal(looksLikeHl7(text), false, JSON.stringify(text));
    }
    for (const value of [null, undefined, 42, {}, ['MSH|']]) assert.equal(looksLikeHl7(value), false);
  });
});

// ------------------------------------------------------------------ parseEr7

describe('parseEr7: delimiters', () => {
  test('default delimiters from a standard MSH', () => {
    assert.deepEqual(parseEr7(ADT_A01).delimiters, {
      field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&',
    });
  });

  test('defaults when there is no header at all', () => {
    const msg = parseEr7('PID|1||123^^^H');
    assert.deepEqual(msg.delimiters, { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
    assert.deepEqual(field(msg, 'PID-3').repetitions, [[['123'], [''], [''], ['H']]]);
  });

  test('unusual delimiters MSH#$@!% are honoured everywhere', () => {
    const msg = parseEr7(['MSH#$@!%#APP#FAC#####ADT$A01#1#P#2.5', 'PID#1##123$$$HOSP@456##A%B$C!F!D!S!E!T!!R!!E!'].join('\r'));
    assert.deepEqual(msg.delimiters, { field: '#', component: '$', repetition: '@', escape: '!', subcomponent: '%' });
    assert.equal(field(msg, 'MSH-1').value, '#');
    assert.equal(field(msg, 'MSH-2').value, '$@!%');
    assert.equal(field(msg, 'MSH-3').value, 'APP');
    assert.deepEqual(field(msg, 'MSH-9').repetitions, [[['ADT'], ['A01']]]);
    assert.equal(field(msg, 'MSH-12').value, '2.5');
    assert.deepEqual(field(msg, 'PID-3').repetitions, [[['123'], [''], [''], ['HOSP']], [['456']]]);
    assert.equal(field(msg, 'PID-4').value, '');
    assert.deepEqual(field(msg, 'PID-5').repetitions, [[['A', 'B'], ['C#D$E%@!']]]);
  });

  test('a v2.7 truncation character in MSH-2 is allowed', () => {
    const msg = parseEr7('MSH|^~\\&#|APP|FAC|||20240101||ACK|1|P|2.7\rMSA|AA|1');
    assert.deepEqual(msg.delimiters, { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
    assert.equal(field(msg, 'MSH-2').value, '^~\\&#');
    assert.equal(field(msg, 'MSH-3').value, 'APP');
    assert.equal(field(msg, 'MSA-2').value, '1');
  });
});

describe('parseEr7: structure', () => {
  const adt = parseEr7(ADT_A01);
  const oru = parseEr7(ORU_R01);

  test('segments with ids, 0-based index and 1-based occurrence', () => {
    assert.deepEqual(adt.segments.map((s) => s.id), ['MSH', 'EVN', 'PID', 'PV1', 'ZPV']);
    assert.deepEqual(adt.segments.map((s) => s.index), [0, 1, 2, 3, 4]);
    const obx = oru.segments.filter((s) => s.id === 'OBX');
    assert.deepEqual(obx.map((s) => s.occurrence), [1, 2, 3, 4]);
    assert.deepEqual(obx.map((s) => s.index), [5, 6, 7, 8]);
    assert.deepEqual(obx.map((s) => s.fields[0].value), ['1', '2', '3', '4']);
    assert.equal(segment(oru, 'NTE').occurrence, 1);
  });

  test('MSH-1 is the field separator and MSH-2 the encoding characters, unsplit', () => {
    const msh = segment(adt, 'MSH');
    assert.deepEqual(msh.fields[0], { position: 'MSH-1', number: 1, value: '|', repetitions: [[['|']]] });
    assert.deepEqual(msh.fields[1], { position: 'MSH-2', number: 2, value: '^~\\&', repetitions: [[['^~\\&']]] });
    assert.equal(field(adt, 'MSH-3').value, 'HIS');
    assert.equal(field(adt, 'MSH-7').value, '20240315093000');
    assert.equal(field(adt, 'MSH-8').value, '');
    assert.equal(field(adt, 'MSH-9').value, 'ADT^A01^ADT_A01');
    assert.deepEqual(field(adt, 'MSH-9').repetitions, [[['ADT'], ['A01'], ['ADT_A01']]]);
    assert.equal(field(adt, 'MSH-10').value, 'MSG00001');
    assert.equal(field(adt, 'MSH-12').value, '2.5');
    assert.equal(field(adt, 'MSH-18').value, 'UNICODE UTF-8');
    assert.equal(msh.fields.length, 18);
    assert.deepEqual(msh.fields.map((f) => f.number), Array.from({ length: 18 }, (_, i) => i + 1));
  });

  test('exact field numbering with empty fields in between', () => {
    const pid = segment(adt, 'PID');
    assert.equal(pid.fields.length, 22);
    pid.fields.forEach((f, i) => {
      assert.equal(f.number, i + 1);
      assert.equal(f.position, `PID-${i + 1}`);
    });
    assert.equal(field(adt, 'PID-7').value, '19800101');
    assert.equal(field(adt, 'PID-8').value, 'M');
    assert.equal(field(adt, 'PID-16').value, 'M');
    assert.equal(field(adt, 'PID-22').value, '汉族');
    assert.equal(field(adt, 'PV1-19').value, 'ZY20240315001');
    assert.equal(field(adt, 'PV1-10').value, '内科');
    assert.equal(field(oru, 'OBR-16').value, '1001^王^五');
    assert.equal(field(oru, 'OBR-22').value, '20240316101000');
    assert.equal(field(oru, 'OBR-24').value, 'LAB');
    assert.equal(field(oru, 'OBR-25').value, 'F');
    assert.equal(field(oru, 'OBX-8', 2).value, 'L');
    assert.equal(field(oru, 'OBX-11', 4).value, 'F');
    assert.equal(field(oru, 'OBX-14', 1).value, '20240316100000');
  });

  test('trailing empty fields are kept', () => {
    const evn = segment(parseEr7('MSH|^~\\&|A\rEVN|A01|20240315093000|||'), 'EVN');
    assert.deepEqual(evn.fields.map((f) => f.value), ['A01', '20240315093000', '', '', '']);
    const msh = segment(parseEr7('MSH|^~\\&|A||'), 'MSH');
    assert.deepEqual(msh.fields.map((f) => f.position), ['MSH-1', 'MSH-2', 'MSH-3', 'MSH-4', 'MSH-5']);
  });

  test('a segment id alone has no fields', () => {
    const msg = parseEr7('MSH|^~\\&|A\rPV2');
    assert.deepEqual(segment(msg, 'PV2').fields, []);
  });

  test('empty field versus HL7 null ""', () => {
    assert.deepEqual(field(adt, 'PID-2'), { position: 'PID-2', number: 2, value: '', repetitions: [[['']]] });
    assert.deepEqual(field(oru, 'OBX-5', 3), { position: 'OBX-5', number: 5, value: '""', repetitions: [[['""']]] });
    const comp = parseEr7('PID|1||""^^^H');
    assert.deepEqual(field(comp, 'PID-3').repetitions, [[['""'], [''], [''], ['H']]]);
  });

  test('repetitions, components and subcomponents', () => {
    assert.deepEqual(field(adt, 'PID-3').repetitions, [
      [['0001234567'], [''], [''], ['SZRMYY'], ['PI']],
      [['110101198001011234'], [''], [''], ['CHNMOH'], ['ID']],
    ]);
    assert.deepEqual(field(adt, 'PID-5').repetitions, [[['张'], ['三'], [''], [''], [''], [''], ['L']]]);
    const msg = parseEr7('ORC|NW|A1^HIS&1.2.156.112604&ISO~A2^LIS');
    assert.deepEqual(field(msg, 'ORC-2').repetitions, [
      [['A1'], ['HIS', '1.2.156.112604', 'ISO']],
      [['A2'], ['LIS']],
    ]);
    assert.equal(field(msg, 'ORC-2').value, 'A1^HIS&1.2.156.112604&ISO~A2^LIS');
  });
});

describe('parseEr7: escapes', () => {
  const leaf = (raw) => field(parseEr7(`MSH|^~\\&|A\rNTE|1||${raw}`), 'NTE-3').repetitions[0][0][0];

  test('delimiter escapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\', () => {
    assert.equal(leaf(String.raw`a\F\b\S\c\T\d\R\e\E\f`), 'a|b^c&d~e\\f');
    assert.equal(field(parseEr7(ORU_R01), 'OBX-6').repetitions[0][0][0], '10^9/L');
  });

  test('escaped delimiters do not split, and the raw value keeps the escapes', () => {
    const f = field(parseEr7(String.raw`NTE|1||x\S\y\T\z\R\w`), 'NTE-3');
    assert.deepEqual(f.repetitions, [[['x^y&z~w']]]);
    assert.equal(f.value, String.raw`x\S\y\T\z\R\w`);
  });

  test('\\X..\\ hex as UTF-8 (Chinese), also split over adjacent sequences, else Latin-1', () => {
    assert.equal(leaf('\\XE5BCA0E4B889\\'), '张三');
    assert.equal(leaf(String.raw`姓名:\XE5BC\\XA0\\XE4B889\!`), '姓名:张三!');
    assert.equal(leaf('caf\\XE9\\'), 'café');
    assert.equal(leaf('\\X41\\\\S\\\\X42\\'), 'A^B');
  });

  test('formatting escapes: \\.br\\ and \\.sp\\ become newlines', () => {
    assert.equal(field(parseEr7(ORU_R01), 'OBX-5', 4).repetitions[0][0][0], '标本轻度溶血\n请结合临床');
    assert.equal(leaf(String.raw`a\.br\b\.sp 2\c`), 'a\nb\n\nc');
    assert.equal(leaf('\\H\\重要\\N\\'), '重要');
  });

  test('unknown or unterminated escapes are kept verbatim', () => {
    assert.equal(leaf(String.raw`\Zsite\x`), String.raw`\Zsite\x`);
    assert.equal(leaf(String.raw`C:\data\file`), String.raw`C:\data\file`);
    assert.equal(leaf(String.raw`a\F`), String.raw`a\F`);
    assert.equal(leaf('\\XZZ\\'), '\\XZZ\\');
  });

  test('MSH-2 is never decoded', () => {
    assert.equal(field(parseEr7(ADT_A01), 'MSH-2').repetitions[0][0][0], '^~\\&');
  });
});

describe('parseEr7: line breaks, framing and garbage', () => {
  test('CR, LF, CRLF and mixed separators give the same segments', () => {
    const expected = parseEr7(ADT_A01);
    for (const sep of ['\n', '\r\n']) assert.deepEqual(parseEr7(ADT_A01_LINES.join(sep)), expected);
    const mixed = `${ADT_A01_LINES[0]}\r\n${ADT_A01_LINES[1]}\n${ADT_A01_LINES.slice(2).join('\r')}\r\n\r\n`;
    assert.deepEqual(parseEr7(mixed), expected);
  });

  test('MLLP framing and blank lines are ignored', () => {
    const framed = `\x0b${ADT_A01}\r\x1c\r`;
    assert.deepEqual(parseEr7(framed), parseEr7(ADT_A01));
  });

  test('a Z-segment is parsed like any other', () => {
    const zpv = segment(parseEr7(ADT_A01), 'ZPV');
    assert.equal(zpv.index, 4);
    assert.deepEqual(zpv.fields.map((f) => f.position), ['ZPV-1', 'ZPV-2']);
    assert.deepEqual(zpv.fields[1].repetitions, [[['VIP'], ['贵宾']]]);
  });

  test('lines that are not segments become "?" segments holding the line', () => {
    const msg = parseEr7(`${ADT_A01_LINES[0]}\rthis is not a segment\rPID|1\rpid|lowercase\rOBXX|1`);
    assert.deepEqual(msg.segments.map((s) => s.id), ['MSH', '?', 'PID', '?', '?']);
    const garbage = msg.segments[1];
    assert.equal(garbage.index, 1);
    assert.equal(garbage.occurrence, 1);
    assert.deepEqual(garbage.fields, [
      { position: '?-1', number: 1, value: 'this is not a segment', repetitions: [[['this is not a segment']]] },
    ]);
    assert.equal(msg.segments[4].occurrence, 3);
  });

  test('never throws on garbage', () => {
    const inputs = ['', '\r\r\n', 'MSH', 'MSH|', 'MSH|^', 'MSH|^~\\&', '\\\\\\', '|||^^^', '\x00\x01\x02', 'MSH||||',
      'MSH|^~\\&|A\rNTE|1||\\X\\\\XE5\\', '\ud800', null, undefined, 12345, { toString: () => 'PID|1' }];
    for (const input of inputs) {
      const msg = parseEr7(input);
      assert.ok(Array.isArray(msg.segments), String(input));
      assert.equal(typeof msg.delimiters.field, 'string');
    }
    assert.deepEqual(parseEr7('').segments, []);
    assert.deepEqual(parseEr7({ toString: () => 'PID|1' }).segments[0].id, 'PID');
  });

  test('batch: FHS/BHS headers carry the delimiters', () => {
    const msg = parseEr7(['FHS|^~\\&|HIS', 'BHS|^~\\&|HIS', ADT_A01_LINES[0], 'BTS|1', 'FTS|1'].join('\r'));
    assert.deepEqual(msg.segments.map((s) => s.id), ['FHS', 'BHS', 'MSH', 'BTS', 'FTS']);
    assert.equal(field(msg, 'FHS-1').value, '|');
    assert.equal(field(msg, 'BHS-2').value, '^~\\&');
    assert.equal(field(msg, 'BHS-3').value, 'HIS');
  });
});

// ------------------------------------------------------------------ names

const COVERED = ['MSH', 'EVN', 'PID', 'PD1', 'NK1', 'PV1', 'PV2', 'MRG', 'ORC', 'OBR', 'OBX', 'NTE', 'AL1', 'DG1', 'PR1',
  'IN1', 'GT1', 'MSA', 'ERR', 'QRD', 'QAK', 'SPM', 'TQ1', 'ROL', 'FHS', 'FTS', 'BHS', 'BTS', 'TXA', 'RXA', 'SCH', 'AIS'];

/** HL7 v2.5.1 field counts of the covered segments. */
const FIELD_COUNTS = {
  MSH: 21, EVN: 7, PID: 39, PD1: 21, NK1: 39, PV1: 52, PV2: 49, MRG: 7, ORC: 31, OBR: 50, OBX: 25, NTE: 4, AL1: 6,
  DG1: 21, PR1: 20, IN1: 53, GT1: 57, MSA: 6, ERR: 12, QRD: 12, QAK: 6, SPM: 29, TQ1: 14, ROL: 12, FHS: 12, FTS: 2,
  BHS: 12, BTS: 3, TXA: 23, RXA: 26, SCH: 27, AIS: 12,
};

describe('names', () => {
  test('segment names in both languages', () => {
    assert.equal(segmentName('PID', 'en'), 'Patient Identification');
    assert.equal(segmentName('PID', 'zh'), '患者标识');
    assert.equal(segmentName('PID'), '患者标识');
    assert.equal(segmentName('MSH', 'en'), 'Message Header');
    assert.equal(segmentName('OBX', 'en'), 'Observation/Result');
    assert.equal(segmentName('pv1', 'en-US'), 'Patient Visit');
    assert.equal(segmentName('PV1', 'zh-CN'), '患者就诊信息');
  });

  test('Z-segments and unknown segments', () => {
    assert.equal(segmentName('ZPV', 'en'), 'Z-segment (site-defined)');
    assert.equal(segmentName('ZPV', 'zh'), '自定义段');
    assert.equal(segmentName('XYZ', 'en'), undefined);
    assert.equal(segmentName('?', 'zh'), undefined);
    assert.equal(segmentName('constructor', 'en'), undefined);
    assert.equal(segmentName('__proto__', 'en'), undefined);
    assert.equal(segmentName(undefined), undefined);
  });

  test('field names in both languages', () => {
    assert.equal(fieldName('PID', 5, 'en'), 'Patient Name');
    assert.equal(fieldName('PID', 5, 'zh'), '患者姓名');
    assert.equal(fieldName('PID', 5), '患者姓名');
    assert.equal(fieldName('PID', '3', 'zh'), '患者标识符列表');
    assert.equal(fieldName('MSH', 9, 'en'), 'Message Type');
    assert.equal(fieldName('MSH', 9, 'zh'), '消息类型');
    assert.equal(fieldName('MSH', 10, 'en'), 'Message Control ID');
    assert.equal(fieldName('PV1', 3, 'en'), 'Assigned Patient Location');
    assert.equal(fieldName('PV1', 3, 'zh'), '患者所在位置');
    assert.equal(fieldName('PV1', 44, 'en'), 'Admit Date/Time');
    assert.equal(fieldName('OBX', 5, 'en'), 'Observation Value');
    assert.equal(fieldName('OBX', 5, 'zh'), '观察值');
    assert.equal(fieldName('OBR', 4, 'en'), 'Universal Service Identifier');
    assert.equal(fieldName('MSA', 1, 'en'), 'Acknowledgment Code');
    assert.equal(fieldName('AIS', 12, 'en'), 'Filler Supplemental Service Information');
  });

  test('unknown field names are undefined', () => {
    assert.equal(fieldName('PID', 40, 'en'), undefined);
    assert.equal(fieldName('PID', 0, 'en'), undefined);
    assert.equal(fieldName('PID', -1, 'zh'), undefined);
    assert.equal(fieldName('PID', 1.5, 'zh'), undefined);
    assert.equal(fieldName('PID', 'x', 'zh'), undefined);
    assert.equal(fieldName('ZPV', 1, 'en'), undefined);
    assert.equal(fieldName('XYZ', 1, 'zh'), undefined);
    assert.equal(fieldName('constructor', 1, 'zh'), undefined);
    assert.equal(fieldName('RXO', 1, 'zh'), undefined);
  });

  test('every field of every covered segment is named in both languages', () => {
    for (const id of COVERED) {
      assert.ok(segmentName(id, 'en'), `${id} en`);
      assert.ok(segmentName(id, 'zh'), `${id} zh`);
      for (let n = 1; n <= FIELD_COUNTS[id]; n++) {
        assert.ok(fieldName(id, n, 'en'), `${id}-${n} en`);
        assert.match(fieldName(id, n, 'zh'), /[\u4e00-\u9fff]|^VIP|^HL7|^DRG/, `${id}-${n} zh`);
      }
      assert.equal(fieldName(id, FIELD_COUNTS[id] + 1, 'en'), undefined, `${id} has no extra field`);
      assert.equal(fieldName(id, FIELD_COUNTS[id] + 1, 'zh'), undefined, `${id} has no extra zh field`);
    }
  });
});

// ------------------------------------------------------------------ renderHl7 with a fake document

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.className = '';
    this.textContent = '';
    this.children = [];
    this.attributes = {};
  }

  appendChild(child) {
    this.children.push(child);
    return child;
  }

  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }

  set innerHTML(_) {
    throw new Error('innerHTML must not be used');
  }
}

function* walk(node) {
  yield node;
  for (const child of node.children ?? []) yield* walk(child);
}
const byClass = (root, cls) => [...walk(root)].filter((n) => (n.className ?? '').split(' ').includes(cls));
const rowOf = (section, position) =>
  byClass(section, 'hl7-field').find((tr) => tr.children[0].textContent === position);
const sectionOf = (root, id, occurrence = 1) =>
  byClass(root, 'hl7-seg').filter((s) => byClass(s, 'hl7-seg-id')[0].textContent === id)[occurrence - 1];

describe('renderHl7', () => {
  const saved = globalThis.document;
  globalThis.document = { createElement: (tag) => new FakeElement(tag) };
  after(() => {
    globalThis.document = saved;
  });

  test('one section per segment with id and name', () => {
    const root = renderHl7(ADT_A01);
    assert.equal(root.tagName, 'DIV');
    assert.equal(root.className, 'hl7');
    assert.equal(root.children.length, 5);
    const [msh] = root.children;
    assert.equal(msh.tagName, 'SECTION');
    assert.equal(msh.className, 'hl7-seg');
    const head = msh.children[0];
    assert.equal(head.tagName, 'H4');
    assert.equal(head.className, 'hl7-seg-head');
    assert.deepEqual(head.children.map((c) => [c.className, c.textContent]), [
      ['hl7-seg-id', 'MSH'], ['hl7-seg-name', '消息头'],
    ]);
    assert.equal(msh.children[1].tagName, 'TABLE');
    assert.equal(msh.children[1].className, 'hl7-fields');
    assert.equal(msh.children[1].children[0].tagName, 'TBODY');
    assert.equal(byClass(sectionOf(root, 'ZPV'), 'hl7-seg-name')[0].textContent, '自定义段');
    assert.equal(byClass(renderHl7(ADT_A01, 'en'), 'hl7-seg-name')[2].textContent, 'Patient Identification');
  });

  test('rows: position, name, value, raw text as title; empty fields left out', () => {
    const pid = sectionOf(renderHl7(ADT_A01), 'PID');
    const positions = byClass(pid, 'hl7-field').map((tr) => tr.children[0].textContent);
    assert.deepEqual(positions, ['PID-1', 'PID-3', 'PID-5', 'PID-7', 'PID-8', 'PID-11', 'PID-13', 'PID-16', 'PID-22']);
    const row = rowOf(pid, 'PID-22');
    assert.equal(row.tagName, 'TR');
    assert.deepEqual(row.children.map((td) => [td.tagName, td.className]), [
      ['TD', 'hl7-pos'], ['TD', 'hl7-name'], ['TD', 'hl7-value'],
    ]);
    assert.equal(row.children[1].textContent, '民族');
    assert.equal(row.children[2].textContent, '汉族');
    assert.equal(row.attributes.title, '汉族');
    assert.equal(rowOf(sectionOf(renderHl7(ADT_A01, 'en'), 'PID'), 'PID-22').children[1].textContent, 'Ethnic Group');
  });

  test('components and repetitions listed with their positions', () => {
    const pid = sectionOf(renderHl7(ADT_A01), 'PID');
    const name = rowOf(pid, 'PID-5');
    assert.equal(name.attributes.title, '张^三^^^^^L');
    const lines = (row) => byClass(row, 'hl7-comp').map((div) => div.children.map((c) => c.textContent));
    assert.deepEqual(lines(name), [['PID-5.1', '张'], ['PID-5.2', '三'], ['PID-5.7', 'L']]);
    assert.equal(byClass(name, 'hl7-comp')[0].children[0].className, 'hl7-pos');
    assert.deepEqual(lines(rowOf(pid, 'PID-3')), [
      ['PID-3[1].1', '0001234567'], ['PID-3[1].4', 'SZRMYY'], ['PID-3[1].5', 'PI'],
      ['PID-3[2].1', '110101198001011234'], ['PID-3[2].4', 'CHNMOH'], ['PID-3[2].5', 'ID'],
    ]);
    const orc = sectionOf(renderHl7('ORC|NW|A1^HIS&1.2.156&ISO~A2'), 'ORC');
    assert.deepEqual(lines(rowOf(orc, 'ORC-2')), [
      ['ORC-2[1].1', 'A1'], ['ORC-2[1].2.1', 'HIS'], ['ORC-2[1].2.2', '1.2.156'], ['ORC-2[1].2.3', 'ISO'], ['ORC-2[2]', 'A2'],
    ]);
  });

  test('MSH-1 and MSH-2 shown literally; HL7 null marked; escapes decoded', () => {
    const root = renderHl7(ORU_R01);
    const msh = sectionOf(root, 'MSH');
    assert.equal(rowOf(msh, 'MSH-1').children[2].textContent, '|');
    assert.equal(rowOf(msh, 'MSH-2').children[2].textContent, '^~\\&');
    const plt = rowOf(sectionOf(root, 'OBX', 3), 'OBX-5');
    const [nul] = byClass(plt, 'hl7-null');
    assert.equal(nul.textContent, '""');
    assert.equal(rowOf(sectionOf(root, 'OBX', 1), 'OBX-6').children[2].textContent, '10^9/L');
    assert.equal(rowOf(sectionOf(root, 'OBX', 4), 'OBX-5').children[2].textContent, '标本轻度溶血\n请结合临床');
  });

  test('showEmpty shows empty fields with class hl7-empty', () => {
    const pid = sectionOf(renderHl7(ADT_A01, 'zh', { showEmpty: true }), 'PID');
    assert.equal(byClass(pid, 'hl7-field').length, 22);
    const empty = rowOf(pid, 'PID-2');
    assert.equal(empty.className, 'hl7-field hl7-empty');
    assert.equal(empty.children[1].textContent, '患者ID');
    assert.equal(empty.children[2].textContent, '');
    assert.equal(byClass(pid, 'hl7-empty').length, 13);
  });

  test('untrusted markup stays text; garbage renders as "?" segments', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const root = renderHl7(`MSH|^~\\&|${evil}\r${evil}`);
    const row = rowOf(sectionOf(root, 'MSH'), 'MSH-3');
    assert.equal(row.children[2].textContent, evil);
    const garbage = sectionOf(root, '?');
    assert.equal(byClass(garbage, 'hl7-seg-name')[0].textContent, '无法识别的行');
    assert.equal(rowOf(garbage, '?-1').children[2].textContent, evil);
    assert.equal(renderHl7('').children.length, 0);
  });

  test('adds one-space text nodes only when the document can make them', () => {
    globalThis.document = {
      createElement: (tag) => new FakeElement(tag),
      createTextNode: (text) => ({ nodeType: 3, textContent: text }),
    };
    try {
      const head = byClass(renderHl7('PID|1'), 'hl7-seg-head')[0];
      assert.deepEqual(head.children.map((c) => c.textContent), ['PID', ' ', '患者标识']);
    } finally {
      globalThis.document = { createElement: (tag) => new FakeElement(tag) };
    }
  });
});
