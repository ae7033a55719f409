// One route: its source and state, live counters, the last hour, its
// configuration as loaded (file and YAML text), pause and resume.

import { get, post, withQuery } from '../api.js';
import { h, replace, toast } from '../dom.js';
import { t, formatTime } from '../i18n.js';
import { throughputChart } from '../chart.js';
import { poll } from '../poll.js';
import { LiveBuckets } from '../live.js';
import { operatorButton } from '../actions.js';
import { listenerText, stateBadge, routesTable, lastHour, chartWidth } from './dashboard.js';

const EVERY_MS = 3000;
const CHART_EVERY_MS = 60000;

export function render(main, { id }, session) {
  const head = h('div', {});
  const counters = h('div', {});
  const chart = h('div', { class: 'panel' }, h('h3', {}, t('route.chart')));
  const config = h('div', {});
  main.append(head, counters, chart, config);

  const act = async (action) => {
    try {
      await post(`/api/routes/${encodeURIComponent(id)}/${action}`);
      await refresh();
    } catch (e) {
      toast(`${t(`route.${action}`)}: ${e.message}`, true);
    }
  };

  const live = new LiveBuckets();
  const drawChart = () => replace(chart, h('h3', {}, t('route.chart')), throughputChart(live.buckets, chartWidth(chart)));
  const findRoute = async () => (await get('/api/routes')).routes.find((r) => r.id === id);
  const refresh = async () => {
    const route = await findRoute();
    if (!route) {
      replace(head, h('div', { class: 'banner bad' }, `${t('not_found')}: ${id}`));
      return;
    }
    if (live.add(route.counters)) drawChart();
    const paused = route.state.state === 'paused';
    const toggle = operatorButton(
      session,
      t(paused ? 'route.resume' : 'route.pause'),
      { id: paused ? 'resume-button' : 'pause-button', class: paused ? 'primary' : 'danger' },
      () => act(paused ? 'resume' : 'pause'),
    );
    replace(
      head,
      h('div', { class: 'section-head' }, h('h1', {}, `${t('route.title')} `, h('span', { class: 'mono' }, route.id)), stateBadge(route.state), toggle),
      h(
        'div',
        { class: 'panel' },
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, t('route.description')),
          h('dd', {}, route.description ?? ''),
          h('dt', {}, t('col.listener')),
          h('dd', { class: 'mono' }, listenerText(route.source)),
          h('dt', {}, t('route.file')),
          h('dd', { class: 'mono' }, route.file),
          h('dt', {}, t('route.destinations')),
          h('dd', {}, route.destinations.join(', ') || '–'),
          h('dt', {}, t('col.keys')),
          h('dd', {}, route.keys.join(', ') || '–'),
          paused ? [h('dt', {}, t('col.state')), h('dd', {}, t('route.paused_by', { by: route.state.by, since: formatTime(route.state.since, false) }))] : null,
        ),
        h('p', {}, h('a', { href: `#${withQuery('/messages', { route: route.id })}`, id: 'route-messages' }, t('route.messages'))),
      ),
    );
    replace(counters, routesTable([route]));
  };
  const refreshChart = async () => {
    const [stats, route] = await Promise.all([get(withQuery('/api/stats', { ...lastHour(), route: id })), findRoute()]);
    live.reset(stats.buckets, route?.counters ?? {});
    drawChart();
  };
  get(`/api/routes/${encodeURIComponent(id)}`)
    .then((detail) => replace(config, h('h2', {}, t('route.config')), h('pre', { class: 'body', id: 'route-yaml' }, detail.yaml)))
    .catch(() => {});
  const stops = [poll(refresh, EVERY_MS), poll(refreshChart, CHART_EVERY_MS)];
  return () => stops.forEach((stop) => stop());
}
