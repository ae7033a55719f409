// One message whole: its facts, the step-by-step trace with each step's
// output and what it changed, the raw input (raw and pretty: JSON, XML, HL7
// with segment and field names), the reply, and each delivery with its
// attempts; reprocess of the message or of one delivery.

import { get, post } from '../api.js';
import { append, h, replace, toast } from '../dom.js';
import { t, statusText, formatTime, formatMicros } from '../i18n.js';
import { bodyView, prettyJson } from '../format.js';
import { diffScope, statesOfTrace } from '../diff.js';
import { looksLikeHl7 } from '../hl7.js';
import { operatorButton } from '../actions.js';
import { statusBadge, keysText } from './messages.js';

function facts(m) {
  const row = (label, value) => (value === null || value === undefined || value === '' ? null : [h('dt', {}, label), h('dd', {}, value)]);
  return h(
    'dl',
    { class: 'facts', id: 'message-facts' },
    row(t('msg.received_at'), formatTime(m.received_at)),
    row(t('msg.route'), h('a', { href: `#/routes/${encodeURIComponent(m.route)}` }, m.route)),
    row(t('msg.status'), statusBadge(m.status)),
    row(t('msg.duration'), formatMicros(m.duration_us)),
    row(t('msg.caller'), m.caller),
    row(t('msg.parent'), m.parent_id ? h('a', { href: `#/messages/${encodeURIComponent(m.parent_id)}` }, m.parent_id) : null),
    row(t('msg.keys'), keysText(m.keys) || null),
    row(t('msg.content_type'), m.content_type),
  );
}

/** Longer values are cut in the changes table; the Output view shows them whole. */
const LONG_VALUE = 300;

function changesTable(before, after, scopes) {
  const changes = scopes.flatMap((scope) => diffScope(scope, before[scope], after[scope]));
  if (changes.length === 0) return h('p', { class: 'muted' }, t('msg.no_change'));
  const show = (value) => {
    const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > LONG_VALUE ? `${text.slice(0, LONG_VALUE)}…` : text;
  };
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid diff', id: 'step-diff' },
      h('thead', {}, h('tr', {}, ['col.path', 'col.change', 'col.before', 'col.after'].map((k) => h('th', {}, t(k))))),
      h(
        'tbody',
        {},
        changes.map((c) =>
          h(
            'tr',
            { class: `diff-${c.kind}` },
            h('td', { class: 'mono nowrap' }, c.path),
            h('td', { class: 'change nowrap' }, t(`diff.${c.kind}`)),
            h('td', { class: c.kind === 'added' ? '' : 'before' }, show(c.before)),
            h('td', { class: c.kind === 'removed' ? '' : 'after' }, show(c.after)),
          ),
        ),
      ),
    ),
  );
}

function stepDetail(entry, state) {
  const scopes = Object.keys(entry.output ?? {});
  const holder = h('div', { id: 'step-detail' });
  if (scopes.length === 0) {
    holder.append(h('h3', {}, `${entry.index + 1}. ${entry.step}`), h('p', { class: 'muted' }, entry.outcome === 'ok' ? t('msg.no_change') : entry.outcome));
    return holder;
  }
  const content = h('div', {});
  const show = (mode) => {
    diffButton.classList.toggle('on', mode === 'diff');
    outputButton.classList.toggle('on', mode === 'output');
    replace(
      content,
      mode === 'diff'
        ? changesTable(state.before, state.after, scopes)
        : scopes.map((scope) => [h('h3', {}, scope), h('pre', { class: 'body' }, prettyJson(entry.output[scope]))]),
    );
  };
  const diffButton = h('button', { type: 'button', id: 'show-diff', onclick: () => show('diff') }, t('view.changed'));
  const outputButton = h('button', { type: 'button', id: 'show-output', onclick: () => show('output') }, t('view.output'));
  // A source that decodes the message itself into another shape (SOAP parameters) leaves no
  // record of the body before the first step that changes it: there is nothing to compare with.
  const unknown = scopes.filter((scope) => !(scope in state.before));
  append(holder, [
    h('div', { class: 'section-head' }, h('h3', {}, `${entry.index + 1}. ${entry.step}`), h('div', { class: 'view-switch' }, diffButton, outputButton)),
    unknown.length ? h('p', { class: 'muted' }, t('msg.before_unknown', { scopes: unknown.join(', ') })) : null,
    content,
  ]);
  show(unknown.length ? 'output' : 'diff');
  return holder;
}

function traceSection(m) {
  const trace = m.trace ?? [];
  if (trace.length === 0) return h('p', { class: 'muted' }, t('msg.no_trace'));
  // Before the steps the body is the raw text: as text for a parse step to read, or an HL7
  // message an MLLP source decoded (compared by position). Another source's decoding (SOAP
  // parameters) leaves no record of the body before the first step that changes it.
  const firstBodyWriter = trace.find((entry) => entry.output && 'body' in entry.output);
  const rawText = m.raw_encoding === 'utf-8' && typeof m.raw === 'string' && !m.pruned_at;
  const rawBody = rawText && (firstBodyWriter?.step === 'parse' || looksLikeHl7(m.raw));
  const initial = { vars: {}, headers: m.source ?? {}, ...(rawBody ? { body: m.raw } : {}) };
  const states = statesOfTrace(trace, initial);
  const detail = h('div', { class: 'panel' });
  const rows = trace.map((entry, i) =>
    h(
      'tr',
      { class: 'clickable', dataset: { step: String(i) }, onclick: () => select(i) },
      h('td', { class: 'num' }, String(entry.index + 1)),
      h('td', {}, entry.step),
      h('td', { class: 'num nowrap' }, formatMicros(entry.micros)),
      h('td', { class: entry.outcome === 'ok' ? '' : 'error-text' }, entry.outcome === 'ok' ? h('span', { class: 'badge ok' }, 'ok') : entry.outcome),
    ),
  );
  const select = (i) => {
    rows.forEach((row, j) => row.classList.toggle('selected', i === j));
    replace(detail, stepDetail(trace[i], states[i]));
  };
  const table = h(
    'table',
    { class: 'grid', id: 'trace-table' },
    h('thead', {}, h('tr', {}, ['#', t('col.step'), t('col.micros'), t('col.outcome')].map((text) => h('th', {}, text)))),
    h('tbody', {}, rows),
  );
  select(0);
  return h('div', { class: 'trace-layout' }, h('div', {}, table, h('p', { class: 'muted' }, t('msg.trace_hint'))), detail);
}

function responseView(response) {
  if (response === null || response === undefined) return h('p', { class: 'muted' }, '–');
  if (typeof response === 'object' && typeof response.body === 'string') {
    const { body, ...rest } = response;
    return h('div', {}, h('pre', { class: 'body' }, prettyJson(rest)), bodyView(body, rest.content_type ?? rest['content-type']));
  }
  return h('pre', { class: 'body' }, typeof response === 'string' ? response : prettyJson(response));
}

function deliveryCard(m, d, session, reload) {
  const resend = operatorButton(session, t('msg.resend'), { class: 'resend', dataset: { destination: d.destination } }, async () => {
    if (!window.confirm(t('msg.resend_confirm', { destination: d.destination }))) return;
    try {
      const done = await post(`/api/messages/${encodeURIComponent(m.id)}/deliveries/${encodeURIComponent(d.destination)}/reprocess`);
      toast(t('msg.resent', { id: done.id }));
      location.hash = `#/messages/${encodeURIComponent(done.id)}`;
    } catch (e) {
      toast(`${t('msg.resend')}: ${e.message}`, true);
      reload();
    }
  });
  const row = (label, value) => (value === null || value === undefined ? null : [h('dt', {}, label), h('dd', {}, value)]);
  return h(
    'div',
    { class: 'panel delivery', dataset: { destination: d.destination, status: d.status } },
    h('div', { class: 'section-head' }, h('h3', {}, d.destination, ' ', h('span', { class: `badge ${d.status} delivery-status` }, statusText(d.status))), resend),
    h(
      'dl',
      { class: 'facts' },
      row(t('msg.attempts'), String(d.attempts)),
      row(t('msg.next_attempt'), d.next_attempt_at ? formatTime(d.next_attempt_at) : null),
      row(t('msg.last_error'), d.last_error ? h('span', { class: 'error-text' }, d.last_error) : null),
    ),
    h('h3', {}, t('msg.payload')),
    bodyView(d.payload, d.content_type, { emptyText: t('msg.pruned') }),
    h('h3', {}, t('msg.response')),
    responseView(d.response),
    h('h3', {}, t('msg.history')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'grid' },
        h('thead', {}, h('tr', {}, ['col.attempt', 'col.at', 'col.status', 'col.duration', 'col.error'].map((k) => h('th', {}, t(k))))),
        h(
          'tbody',
          {},
          (d.history ?? []).map((a) =>
            h(
              'tr',
              {},
              h('td', { class: 'num' }, String(a.attempt)),
              h('td', { class: 'nowrap' }, formatTime(a.at)),
              h('td', {}, h('span', { class: `badge ${a.status}` }, statusText(a.status))),
              h('td', { class: 'num nowrap' }, formatMicros(a.duration_us)),
              h('td', { class: 'error-text' }, a.error ?? ''),
            ),
          ),
        ),
      ),
    ),
  );
}

function page(m, session, reload) {
  const reprocess = operatorButton(session, t('msg.reprocess'), { id: 'reprocess-button', class: 'primary' }, async () => {
    if (!window.confirm(t('msg.reprocess_confirm'))) return;
    try {
      const done = await post(`/api/messages/${encodeURIComponent(m.id)}/reprocess`);
      toast(t('msg.reprocessed', { id: done.id, status: statusText(done.status) }));
      location.hash = `#/messages/${encodeURIComponent(done.id)}`;
    } catch (e) {
      toast(`${t('msg.reprocess')}: ${e.message}`, true);
    }
  });
  const source = h('details', {}, h('summary', {}, t('msg.source')), h('pre', { class: 'body' }, prettyJson(m.source ?? {})));
  return [
    h('div', { class: 'section-head' }, h('h1', {}, `${t('msg.title')} `, h('span', { class: 'mono', id: 'message-id' }, m.id)), reprocess),
    m.error ? h('div', { class: 'banner bad', id: 'message-error' }, `${m.error.code ?? m.error.kind}: ${m.error.message}`) : null,
    h('div', { class: 'panel' }, facts(m)),
    h('h2', {}, t('msg.trace')),
    traceSection(m),
    h('h2', {}, t('msg.input')),
    h('div', { class: 'panel', id: 'message-input' }, m.pruned_at ? h('p', { class: 'muted' }, t('msg.pruned')) : bodyView(m.raw, m.content_type, { encoding: m.raw_encoding }), source),
    h('h2', {}, t('msg.reply')),
    h(
      'div',
      { class: 'panel', id: 'message-reply' },
      m.reply ? [h('p', {}, `HTTP ${m.reply.status} · ${m.reply.content_type}`), bodyView(m.reply.body, m.reply.content_type)] : h('p', { class: 'muted' }, t('msg.no_reply')),
    ),
    h('h2', {}, t('msg.deliveries')),
    m.deliveries?.length ? m.deliveries.map((d) => deliveryCard(m, d, session, reload)) : h('p', { class: 'muted' }, t('msg.no_deliveries')),
  ];
}

/** Pending deliveries change by themselves: the page reads the message again until none is. */
const PENDING_EVERY_MS = 2000;

export function render(main, { id }, session) {
  let timer = null;
  let stopped = false;
  const load = async () => {
    try {
      const m = await get(`/api/messages/${encodeURIComponent(id)}`);
      if (stopped) return;
      replace(main, page(m, session, load));
      if (m.deliveries?.some((d) => d.status === 'pending')) timer = setTimeout(load, PENDING_EVERY_MS);
    } catch (e) {
      if (!stopped) replace(main, h('div', { class: 'banner bad' }, e.status === 404 ? `${t('not_found')}: ${id}` : e.message));
    }
  };
  main.append(h('p', { class: 'loading' }, '…'));
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
