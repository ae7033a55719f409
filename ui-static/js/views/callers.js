// Statistics per calling system (the vendor or hospital its credential
// names) and route: counts, error rate and latency percentiles over a window.

import { get, withQuery } from '../api.js';
import { h, replace } from '../dom.js';
import { t, formatNumber, formatPercent, formatMicros } from '../i18n.js';

const WINDOWS = { hour: 60 * 60 * 1000, day: 24 * 60 * 60 * 1000, week: 7 * 24 * 60 * 60 * 1000 };

function table(callers) {
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
            { dataset: { caller: c.caller, route: c.route } },
            h('td', {}, h('a', { href: `#${withQuery('/messages', { caller: c.caller, route: c.route })}` }, c.caller)),
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
  const to = new Date();
  const from = new Date(to.getTime() - WINDOWS[chosen]);
  get(withQuery('/api/stats/callers', { from: from.toISOString(), to: to.toISOString() }))
    .then((stats) => replace(result, table(stats.callers)))
    .catch((e) => replace(result, h('div', { class: 'banner bad' }, e.message)));
}
