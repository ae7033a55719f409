// The message browser: search by route, status, time range, id, business
// key, caller and body text (GET /api/messages), newest first, page by page;
// bulk reprocess of what the filters select.

import { get, post, withQuery } from '../api.js';
import { h, replace, toast } from '../dom.js';
import { t, statusText, formatTime, formatMicros } from '../i18n.js';
import { operatorButton } from '../actions.js';

const STATUSES = ['processed', 'filtered', 'rejected', 'failed'];
const PAGE = 50;

/** `2026-11-22T08:00:00.000Z` -> the value of a datetime-local input, in the browser's zone. */
function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : '';
}

export function statusBadge(status) {
  return h('span', { class: `badge ${status}` }, statusText(status));
}

export function keysText(keys) {
  return Object.entries(keys ?? {}).map(([name, value]) => `${name}=${value}`).join('  ');
}

function messageRow(m) {
  const href = `#/messages/${encodeURIComponent(m.id)}`;
  return h(
    'tr',
    { class: 'clickable', dataset: { message: m.id }, onclick: () => { location.hash = href; } },
    h('td', { class: 'nowrap' }, h('a', { href }, formatTime(m.received_at))),
    h('td', {}, m.route),
    h('td', {}, statusBadge(m.status)),
    h('td', { class: 'num nowrap' }, formatMicros(m.duration_us)),
    h('td', {}, m.caller ?? ''),
    h('td', { class: 'mono' }, keysText(m.keys)),
    h('td', { class: 'error-text' }, m.error ? `${m.error.code ?? m.error.kind}: ${m.error.message}` : ''),
  );
}

function resultsTable(rows) {
  const head = ['col.time', 'col.route', 'col.status', 'col.duration', 'col.caller', 'col.keys', 'col.error'];
  return h(
    'table',
    { class: 'grid', id: 'messages-table' },
    h('thead', {}, h('tr', {}, head.map((key) => h('th', { class: key === 'col.duration' ? 'num' : '' }, t(key))))),
    rows,
  );
}

function filterForm(params, routes) {
  const keyNames = [...new Set(routes.flatMap((r) => r.keys ?? []))].sort();
  const [keyName = '', ...keyRest] = (params.get('key') ?? '').split(':');
  const field = (label, input) => h('label', {}, label, input);
  const select = (name, options, value) =>
    h('select', { name, id: `filter-${name}` }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  const input = (name, value, type = 'text') => h('input', { name, id: `filter-${name}`, type, value: value ?? '' });
  const form = h(
    'form',
    { class: 'panel filters', id: 'message-filters' },
    field(t('msgs.route'), select('route', [['', t('status.any')], ...routes.map((r) => [r.id, r.id])], params.get('route') ?? '')),
    field(t('msgs.status'), select('status', [['', t('status.any')], ...STATUSES.map((s) => [s, statusText(s)])], params.get('status') ?? '')),
    field(t('msgs.from'), input('from', toLocalInput(params.get('from')), 'datetime-local')),
    field(t('msgs.to'), input('to', toLocalInput(params.get('to')), 'datetime-local')),
    field(t('msgs.key'), select('key-name', [['', '–'], ...keyNames.map((k) => [k, k])], keyName)),
    field(t('msgs.key_value'), input('key-value', keyRest.join(':'))),
    field(t('msgs.id'), input('id', params.get('id'))),
    field(t('msgs.caller'), input('caller', params.get('caller'))),
    field(t('msgs.text'), input('text', params.get('text'))),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'search-button' }, t('msgs.search')),
      h('button', { type: 'button', onclick: () => { location.hash = '#/messages'; } }, t('msgs.reset')),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const keyValue = String(data.get('key-value') ?? '').trim();
    const name = String(data.get('key-name') ?? '');
    const query = {
      route: data.get('route'),
      status: data.get('status'),
      from: fromLocalInput(data.get('from')),
      to: fromLocalInput(data.get('to')),
      key: name && keyValue ? `${name}:${keyValue}` : '',
      id: String(data.get('id') ?? '').trim(),
      caller: String(data.get('caller') ?? '').trim(),
      text: data.get('text'),
    };
    location.hash = `#${withQuery('/messages', query)}`;
  });
  return form;
}

/** The API's search parameters from the page's. */
function searchParams(params) {
  const query = {};
  for (const name of ['route', 'status', 'from', 'to', 'key', 'id', 'caller', 'text']) {
    const value = params.get(name);
    if (value) query[name] = value;
  }
  return query;
}

async function bulkReprocess(query) {
  if (!query.route || !query.status || !query.from || !query.to) {
    toast(t('msgs.bulk_needs'), true);
    return;
  }
  const request = { route: query.route, status: query.status, from: query.from, to: query.to };
  try {
    const dry = await post('/api/reprocess', { ...request, dry_run: true });
    if (!window.confirm(t('msgs.bulk_confirm', { count: dry.selected }))) return;
    const done = await post('/api/reprocess', request);
    toast(t('msgs.bulk_done', { done: done.reprocessed, failed: done.failed }), done.failed > 0);
  } catch (e) {
    toast(`${t('msgs.bulk')}: ${e.message}`, true);
  }
}

export function render(main, { params }, session) {
  const query = searchParams(params);
  const tbody = h('tbody', {});
  const more = h('button', { type: 'button', id: 'more-button', hidden: true }, t('msgs.more'));
  const note = h('p', { class: 'muted', id: 'search-note' });
  const bulk = operatorButton(session, t('msgs.bulk'), { id: 'bulk-button', title: t('msgs.bulk_needs') }, () =>
    bulkReprocess(query),
  );
  const formHolder = h('div', {});
  main.append(
    h('div', { class: 'section-head' }, h('h1', {}, t('msgs.title')), bulk),
    formHolder,
    h('div', { class: 'table-wrap' }, resultsTable(tbody)),
    note,
    more,
  );
  let cursor = null;
  let active = true;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await get(withQuery('/api/messages', { ...query, limit: PAGE, before: cursor }));
      if (!active) return;
      tbody.append(...page.messages.map(messageRow));
      cursor = page.next;
      more.hidden = !page.next || (page.messages.length < PAGE && !page.truncated);
      note.textContent = page.truncated ? t('msgs.truncated') : '';
      if (tbody.children.length === 0 && !page.truncated) {
        tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, t('msgs.none'))));
      }
    } catch (e) {
      note.textContent = e.message;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', load);
  get('/api/routes')
    .then((list) => replace(formHolder, filterForm(params, list.routes)))
    .catch(() => replace(formHolder, filterForm(params, [])));
  load();
  return () => {
    active = false;
  };
}
