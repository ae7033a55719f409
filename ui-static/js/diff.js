// What a step changed: the differences between two JSON values, path by path.

import { looksLikeHl7, parseEr7 } from './hl7.js';

/** A path segment: `.name`, or `[index]`, or `["odd name"]`. */
function step(path, key) {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isContainer = (v) => v !== null && typeof v === 'object';

/** A whole value added or removed, leaf by leaf, so that a parsed body reads field by field. */
function leaves(value, path, kind) {
  if (!isContainer(value) || Object.keys(value).length === 0) {
    return [kind === 'added' ? { path, kind, after: value } : { path, kind, before: value }];
  }
  return Object.entries(value).flatMap(([key, item]) =>
    leaves(item, step(path, Array.isArray(value) ? Number(key) : key), kind),
  );
}

/**
 * The differences from `before` to `after`: [{path, kind: 'added'|'removed'|'changed', before, after}],
 * deepest paths for nested changes, in document order.
 */
export function diffValues(before, after, path = '') {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return leaves(after, path, 'added');
  if (after === undefined) return leaves(before, path, 'removed');
  if (isContainer(before) !== isContainer(after)) {
    // Text parsed into a tree, or a tree written out as text.
    return [...leaves(before, path, 'removed'), ...leaves(after, path, 'added')];
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
    return keys.flatMap((key) => diffValues(before[key], after[key], step(path, key)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    const changes = [];
    for (let i = 0; i < length; i += 1) changes.push(...diffValues(before[i], after[i], step(path, i)));
    return changes;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, kind: 'changed', before, after }];
}

/** The value of an HL7 v2 message: `{segments: [{segment: 'MSH', '1': ...}, ...]}` (docs/value-model-hl7.md). */
export function isHl7Tree(value) {
  return (
    isObject(value) &&
    Object.keys(value).length === 1 &&
    Array.isArray(value.segments) &&
    value.segments.every((s) => isObject(s) && typeof s.segment === 'string')
  );
}

/** An HL7 tree as `{'PID-5.1': '张', 'PID-3[2].1': 'BA1', 'OBX[2]-5': '6.5', ...}`, empty positions left out. */
export function hl7Positions(tree) {
  const positions = {};
  const occurrences = {};
  const walk = (value, path) => {
    if (isContainer(value)) {
      for (const [key, item] of Object.entries(value)) walk(item, `${path}.${key}`);
    } else if (value !== '' && value !== undefined && value !== null) {
      positions[path] = value;
    }
  };
  for (const segment of tree.segments) {
    occurrences[segment.segment] = (occurrences[segment.segment] ?? 0) + 1;
    const count = occurrences[segment.segment];
    const name = count > 1 ? `${segment.segment}[${count}]` : segment.segment;
    for (const [field, value] of Object.entries(segment)) {
      if (field === 'segment') continue;
      const repetitions = Array.isArray(value) ? value : [value];
      repetitions.forEach((repetition, index) => {
        walk(repetition, repetitions.length > 1 ? `${name}-${field}[${index + 1}]` : `${name}-${field}`);
      });
    }
  }
  return positions;
}

const numbered = (items) => Object.fromEntries(items.map((item, i) => [String(i + 1), item]));

/** An ER7 message as the engine's value tree of it (docs/value-model-hl7.md). */
function er7Tree(text) {
  const component = (subcomponents) => (subcomponents.length === 1 ? subcomponents[0] : numbered(subcomponents));
  const repetition = (components) => (components.length === 1 ? component(components[0]) : numbered(components.map(component)));
  const segments = parseEr7(text)
    .segments.filter((segment) => segment.id !== '?')
    .map((segment) => {
      const header = segment.id === 'MSH' || segment.id === 'FHS' || segment.id === 'BHS';
      const tree = { segment: segment.id };
      for (const field of segment.fields) {
        const repetitions = field.repetitions;
        if (header && field.number <= 2) tree[field.number] = field.value;
        else tree[field.number] = repetitions.length === 1 ? repetition(repetitions[0]) : repetitions.map(repetition);
      }
      return tree;
    });
  return { segments };
}

/**
 * An ER7 message's positions, named as `hl7Positions` names its tree's: what an MLLP
 * source's body was before the first step, which the journal keeps only as text.
 */
export function er7Positions(text) {
  return hl7Positions(er7Tree(text));
}

const positionsOf = (value) => {
  if (isHl7Tree(value)) return hl7Positions(value);
  if (typeof value === 'string' && looksLikeHl7(value)) return er7Positions(value);
  return null;
};

/**
 * What changed in one scope (`body`, `vars` ...). An HL7 message's tree is
 * compared position by position (`body PID-5.1`), not by its JSON shape.
 */
export function diffScope(scope, before, after) {
  if (!isHl7Tree(before) && !isHl7Tree(after)) return diffValues(before, after, scope);
  const changes = [];
  const old = positionsOf(before);
  if (before !== undefined && old === null) changes.push({ path: scope, kind: 'removed', before });
  const now = isHl7Tree(after) ? hl7Positions(after) : {};
  const was = old ?? {};
  for (const position of [...Object.keys(was), ...Object.keys(now).filter((p) => !(p in was))]) {
    const path = `${scope} ${position}`;
    if (!(position in now)) changes.push({ path, kind: 'removed', before: was[position] });
    else if (!(position in was)) changes.push({ path, kind: 'added', after: now[position] });
    else if (was[position] !== now[position]) changes.push({ path, kind: 'changed', before: was[position], after: now[position] });
  }
  if (after !== undefined && !isHl7Tree(after)) changes.push(...leaves(after, scope, 'added'));
  return changes;
}

/**
 * The message as it stood after each step: the trace records only the
 * scopes a step changed, so each state carries the others forward.
 * `initial` is the message before the first step (its body is the raw text).
 * Returns [{before, after}] per trace entry, both `{scope: value}`.
 */
export function statesOfTrace(trace, initial = {}) {
  let state = initial;
  return trace.map((entry) => {
    const before = state;
    state = { ...state, ...(entry.output ?? {}) };
    return { before, after: state };
  });
}
