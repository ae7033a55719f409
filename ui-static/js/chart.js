// A stacked bar chart of messages per time bucket, drawn as SVG.

import { svg, h } from './dom.js';
import { t, formatNumber } from './i18n.js';

const LEFT = 40;
const BOTTOM = 18;
const TOP = 8;

/** The smallest "round" number at or above n: 1, 2, 5, 10, 20, 50 ... */
function niceCeiling(n) {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= n) return step * power;
  }
  return 10 * power;
}

function clock(iso) {
  const date = new Date(iso);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

/** Stacks of processed, filtered and errors (rejected + failed) per bucket of GET /api/stats. */
export function throughputChart(buckets, width = 1000, height = 180) {
  const fullWidth = Math.max(320, Math.round(width));
  const series = [
    { name: 'processed', value: (b) => b.processed },
    { name: 'filtered', value: (b) => b.filtered },
    { name: 'errors', value: (b) => b.rejected + b.failed },
  ];
  const max = niceCeiling(Math.max(1, ...buckets.map((b) => b.total)));
  const plotWidth = fullWidth - LEFT - 4;
  const plotHeight = height - TOP - BOTTOM;
  const slot = plotWidth / Math.max(1, buckets.length);
  const y = (value) => TOP + plotHeight - (value / max) * plotHeight;
  const chart = svg('svg', { viewBox: `0 0 ${fullWidth} ${height}`, width: fullWidth, height, role: 'img', 'aria-label': t('dash.chart') });
  const axis = svg('g', { class: 'axis' });
  for (const value of Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max]) {
    axis.append(
      svg('line', { x1: LEFT, x2: fullWidth, y1: y(value), y2: y(value) }),
      svg('text', { x: LEFT - 4, y: y(value) + 3, 'text-anchor': 'end' }, formatNumber(value)),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((bucket, index) => {
    const x = LEFT + index * slot;
    if (index % labelEvery === 0) {
      axis.append(svg('text', { x: x + slot / 2, y: height - 4, 'text-anchor': 'middle' }, clock(bucket.start)));
    }
    let base = 0;
    const group = svg('g', { class: 'stack' });
    for (const s of series) {
      const value = s.value(bucket);
      if (value > 0) {
        group.append(
          svg('rect', {
            class: `bar ${s.name}`,
            x: x + slot * 0.1,
            width: Math.max(1, slot * 0.8),
            y: y(base + value),
            height: y(base) - y(base + value),
          }),
        );
      }
      base += value;
    }
    const detail = series.map((s) => `${t(`chart.${s.name}`)} ${formatNumber(s.value(bucket))}`).join(', ');
    group.append(svg('title', {}, `${clock(bucket.start)}  ${detail}`));
    // A transparent target, so that empty minutes show their tooltip too.
    group.append(svg('rect', { x, width: slot, y: TOP, height: plotHeight, fill: 'transparent' }));
    chart.append(group);
  });
  chart.prepend(axis);
  const legend = h(
    'div',
    { class: 'legend' },
    series.map((s) => h('span', {}, h('i', { class: s.name }), t(`chart.${s.name}`))),
    h('span', {}, `${t('chart.per_minute')} · max ${formatNumber(max)}`),
  );
  return h('div', { class: 'chart' }, chart, legend);
}
