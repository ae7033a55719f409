// The dashboard: every route with its listener, state and live counters, the
// last hour's throughput and errors, the journal's size, queued and dead
// deliveries, and the last reload when it was refused.

import { get, withQuery } from '../api.js';
import { h, replace } from '../dom.js';
import { t, statusText, formatNumber, formatBytes, formatTime } from '../i18n.js';
import { throughputChart } from '../chart.js';
import { poll } from '../poll.js';
import { refusedBanner } from '../reload.js';
import { LiveBuckets } from '../live.js';

const COUNTERS_EVERY_MS = 2000;
/** The chart reads every message of the hour from the journal: not too often;
 * in between, the counters' growth keeps it current (live.js). */
const CHART_EVERY_MS = 60000;

export function listenerText(source) {
  switch (source.kind) {
    case 'http':
      return `${source.method} ${source.listen}${source.path}`;
    case 'soap':
      return `SOAP ${source.listen}${source.path} · ${source.operation}`;
    case 'mllp':
      return `MLLP ${source.listen} · ${(source.messages ?? []).join(' ')}`;
    case 'file':
      return `${source.dir}/${source.pattern ?? ''} · ${source.every}`;
    case 'timer':
      return source.cron ? `cron ${source.cron}` : `every ${source.every}`;
    default:
      return source.kind;
  }
}

export function stateBadge(state) {
  return h('span', { class: `badge ${state.state}` }, statusText(state.state));
}

function card(label, value, sub, tone = '', id = null) {
  return h('div', { class: `card ${tone}`, id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub' }, sub ?? ''));
}

function cards(overview) {
  const errors = overview.messages.rejected + overview.messages.failed;
  return h(
    'div',
    { class: 'cards' },
    card(t('dash.routes'), formatNumber(overview.routes.total), t('dash.routes_sub', overview.routes), '', 'card-routes'),
    card(t('dash.received'), formatNumber(overview.messages.received), '', '', 'card-received'),
    card(t('dash.errors'), formatNumber(errors), `${formatNumber(overview.messages.rejected)} / ${formatNumber(overview.messages.failed)}`, errors ? 'bad' : '', 'card-errors'),
    card(t('dash.queued'), formatNumber(overview.deliveries.queued), '', overview.deliveries.queued ? 'warn' : '', 'card-queued'),
    card(t('dash.dead'), formatNumber(overview.deliveries.dead), '', overview.deliveries.dead ? 'bad' : '', 'card-dead'),
    card(t('dash.journal'), formatBytes(overview.journal.bytes), `${overview.journal.backend} · ${overview.journal.durability}`, '', 'card-journal'),
  );
}

function counterCell(value, name, tone = '') {
  return h('td', { class: `num ${value && tone ? tone : ''}`, dataset: { counter: name } }, formatNumber(value));
}

export function routeRow(route) {
  const c = route.counters;
  const open = () => { location.hash = `#/routes/${encodeURIComponent(route.id)}`; };
  return h(
    'tr',
    { class: 'clickable', dataset: { route: route.id }, onclick: open },
    h('td', {}, h('a', { href: `#/routes/${encodeURIComponent(route.id)}` }, route.id), h('div', { class: 'muted' }, route.description ?? '')),
    h('td', { class: 'mono' }, listenerText(route.source)),
    h('td', {}, stateBadge(route.state)),
    counterCell(c.received, 'received'),
    counterCell(c.replied, 'replied'),
    counterCell(c.processed, 'processed'),
    counterCell(c.filtered, 'filtered'),
    counterCell(c.rejected, 'rejected', 'count-bad'),
    counterCell(c.failed, 'failed', 'count-bad'),
    counterCell(c.queued, 'queued', 'count-warn'),
    counterCell(c.dead, 'dead', 'count-bad'),
    h(
      'td',
      { class: 'error-text' },
      route.last_error
        ? [h('div', { class: 'muted nowrap' }, formatTime(route.last_error.at, false)), `${route.last_error.code}: ${route.last_error.message}`]
        : '',
    ),
  );
}

export function routesTable(routes) {
  const head = ['col.route', 'col.listener', 'col.state', 'col.received', 'col.replied', 'col.processed', 'col.filtered', 'col.rejected', 'col.failed', 'col.queued', 'col.dead', 'col.last_error'];
  const numeric = new Set(['col.received', 'col.replied', 'col.processed', 'col.filtered', 'col.rejected', 'col.failed', 'col.queued', 'col.dead']);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid', id: 'routes-table' },
      h('thead', {}, h('tr', {}, head.map((key) => h('th', { class: numeric.has(key) ? 'num' : '' }, t(key))))),
      h('tbody', {}, routes.map(routeRow)),
    ),
  );
}

/** The chart's width: its panel's, less the padding. */
export function chartWidth(panel) {
  return Math.max(320, panel.clientWidth - 32);
}

export function lastHour() {
  const to = new Date();
  const from = new Date(to.getTime() - 60 * 60 * 1000);
  return { from: from.toISOString(), to: to.toISOString(), bucket: '1m' };
}

export function render(main) {
  const status = h('span', { class: 'muted', id: 'live-status' });
  const reloadHolder = h('div', {});
  const cardsHolder = h('div', {});
  const chartHolder = h('div', { class: 'panel', id: 'throughput' }, h('h3', {}, t('dash.chart')), h('p', { class: 'loading' }, '…'));
  const routesHolder = h('div', {});
  main.append(
    h('div', { class: 'section-head' }, h('h1', {}, t('dash.title')), status),
    reloadHolder,
    cardsHolder,
    chartHolder,
    routesHolder,
  );

  const live = new LiveBuckets();
  const drawChart = () => replace(chartHolder, h('h3', {}, t('dash.chart')), throughputChart(live.buckets, chartWidth(chartHolder)));
  const refreshCounters = async () => {
    try {
      const [overview, list] = await Promise.all([get('/api/overview'), get('/api/routes')]);
      if (live.add(overview.messages)) drawChart();
      replace(cardsHolder, cards(overview));
      replace(routesHolder, routesTable(list.routes));
      replace(
        status,
        h('span', { class: 'live-dot' }),
        `${t('live')} · ${t('updated')} ${formatTime(new Date().toISOString(), false)} · ${t('dash.since', { time: formatTime(overview.since, false) })}`,
      );
    } catch (e) {
      replace(status, h('span', { class: 'live-dot stale' }), `${t('stale')}: ${e.message}`);
    }
  };
  const refreshChart = async () => {
    const [stats, overview] = await Promise.all([get(withQuery('/api/stats', lastHour())), get('/api/overview')]);
    live.reset(stats.buckets, overview.messages);
    drawChart();
  };
  const refreshReload = async () => {
    try {
      const report = await get('/api/reload');
      replace(reloadHolder, report.status === 'refused' ? refusedBanner(report, t('reload.last_refused')) : null);
    } catch {
      replace(reloadHolder);
    }
  };
  const reloaded = () => {
    refreshReload();
    refreshCounters();
  };
  window.addEventListener('medbus:reloaded', reloaded);
  const stops = [poll(refreshCounters, COUNTERS_EVERY_MS), poll(refreshChart, CHART_EVERY_MS), poll(refreshReload, CHART_EVERY_MS)];
  return () => {
    stops.forEach((stop) => stop());
    window.removeEventListener('medbus:reloaded', reloaded);
  };
}
