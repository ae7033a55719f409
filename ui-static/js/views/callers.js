// Statistics per calling system (the vendor or hospital its credential
// names) and route: counts, error rate and latency percentiles over a window.

import { get, withQuery } from '../api.js';
import { h, replace } from '../dom.js';
import { t, formatNumber, formatPercent, formatMicros, formatTime } from '../i18n.js';
import { throughputChart } from '../chart.js';
import { chartWidth } from './dashboard.js';

const WINDOWS = { hour: 60 * 60 * 1000, day: 24 * 60 * 60 * 1000, week: 7 * 24 * 60 * 60 * 1000 };
/** The buckets of a caller's chart over each window. */
const BUCKETS = { hour: '1m', day: '1h', week: '1h' };

function table(callers, choose) {
  if (callers.length === 0) return h('p', { class: 'empty' }, t('callers.none'));
  const head = ['col.caller', 'col.route', 'col.total', 'col.processed', 'col.filtered', 'col.rejected', 'col.failed', 'col.error_rate', 'col.p50', 'col.p95', 'col.p99'];
  const num = (value, tone = '') => h('td', { class: `num ${value && tone ? tone : ''}` }, formatNumber(value));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid', id: 'callers-table' },
      h('thead', {}, h('tr', {}, head.map((k, i) => h('th', { class: i >= 2 ? 'num' : '' }, t(k))))),
      h(
        'tbody',
        {},
        callers.map((c) =>
          h(
            'tr',
            { class: 'clickable', dataset: { caller: c.caller, route: c.route }, onclick: (event) => choose(c, event.currentTarget) },
            h('td', {}, h('a', { href: `#${withQuery('/messages', { caller: c.caller, route: c.route })}`, onclick: (event) => event.stopPropagation() }, c.caller)),
            h('td', {}, c.route),
            num(c.total),
            num(c.processed),
            num(c.filtered),
            num(c.rejected, 'count-bad'),
            num(c.failed, 'count-bad'),
            h('td', { class: `num ${c.error_rate > 0 ? 'count-bad' : ''}` }, formatPercent(c.error_rate)),
            h('td', { class: 'num' }, formatMicros(c.latency_us?.p50)),
            h('td', { class: 'num' }, formatMicros(c.latency_us?.p95)),
            h('td', { class: 'num' }, formatMicros(c.latency_us?.p99)),
          ),
        ),
      ),
    ),
  );
}

export function render(main, { params }) {
  const chosen = params.get('window') in WINDOWS ? params.get('window') : 'day';
  const result = h('div', {}, h('p', { class: 'loading' }, '…'));
  const select = h(
    'select',
    { id: 'callers-window', onchange: () => { location.hash = `#/callers?window=${select.value}`; } },
    Object.keys(WINDOWS).map((name) => h('option', { value: name, selected: name === chosen }, t(`callers.${name}`))),
  );
  main.append(
    h('div', { class: 'section-head' }, h('h1', {}, t('callers.title')), h('label', {}, t('callers.window'), select)),
    h('p', { class: 'muted' }, t('callers.hint')),
    result,
  );
  const over = h('div', { class: 'panel', id: 'caller-chart', hidden: true });
  main.append(over);
  const to = new Date();
  const from = new Date(to.getTime() - WINDOWS[chosen]);
  const span = { from: from.toISOString(), to: to.toISOString() };
  // A row's caller and route over the window: counts per bucket, and the latest buckets' percentiles.
  const choose = async (c, row) => {
    for (const other of result.querySelectorAll('tr.selected')) other.classList.remove('selected');
    row.classList.add('selected');
    over.hidden = false;
    const stats = await get(withQuery('/api/stats', { ...span, caller: c.caller, route: c.route, bucket: BUCKETS[chosen] }));
    const unit = t(BUCKETS[chosen] === '1m' ? 'chart.per_minute' : 'chart.per_hour');
    replace(over, h('h3', {}, `${c.caller} · ${c.route}`), throughputChart(stats.buckets, chartWidth(over), unit), latencyTable(stats.buckets));
  };
  get(withQuery('/api/stats/callers', span))
    .then((stats) => replace(result, table(stats.callers, choose)))
    .catch((e) => replace(result, h('div', { class: 'banner bad' }, e.message)));
}

/** The busiest buckets' latency percentiles, newest first. */
function latencyTable(buckets) {
  const rows = buckets.filter((b) => b.total > 0).reverse().slice(0, 12);
  if (rows.length === 0) return null;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid' },
      h('thead', {}, h('tr', {}, ['col.at', 'col.total', 'col.error_rate', 'col.p50', 'col.p95', 'col.p99'].map((k, i) => h('th', { class: i ? 'num' : '' }, t(k))))),
      h(
        'tbody',
        {},
        rows.map((b) =>
          h(
            'tr',
            {},
            h('td', { class: 'nowrap' }, formatTime(b.start, false)),
            h('td', { class: 'num' }, formatNumber(b.total)),
            h('td', { class: 'num' }, formatPercent(b.error_rate)),
            h('td', { class: 'num' }, formatMicros(b.latency_us?.p50)),
            h('td', { class: 'num' }, formatMicros(b.latency_us?.p95)),
            h('td', { class: 'num' }, formatMicros(b.latency_us?.p99)),
          ),
        ),
      ),
    ),
  );
}
