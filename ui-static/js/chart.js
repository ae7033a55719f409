// A stacked bar chart of messages per time bucket, drawn as SVG.

import { svg, h } from './dom.js';
import { t, formatNumber } from './i18n.js';

/** The root font size in px: the wall display's media query scales it, and the chart with it. */
function rem() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
}

/** The smallest "round" number at or above n: 1, 2, 5, 10, 20, 50 ... */
function niceCeiling(n) {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= n) return step * power;
  }
  return 10 * power;
}

const pad = (n) => String(n).padStart(2, '0');

/** A bucket's label: its time of day, with the date when the chart spans more than a day. */
function labeller(buckets) {
  const span = buckets.length > 1 ? new Date(buckets.at(-1).start) - new Date(buckets[0].start) : 0;
  return (iso) => {
    const date = new Date(iso);
    const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
    return span > 24 * 60 * 60 * 1000 ? `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}` : time;
  };
}

/** Stacks of processed, filtered and errors (rejected + failed) per bucket of GET /api/stats. */
export function throughputChart(buckets, width = 1000, unit = t('chart.per_minute')) {
  const em = rem();
  const [left, bottom, top] = [3 * em, 1.4 * em, 0.6 * em];
  const height = Math.round(13 * em);
  const fullWidth = Math.max(320, Math.round(width));
  const series = [
    { name: 'processed', value: (b) => b.processed },
    { name: 'filtered', value: (b) => b.filtered },
    { name: 'errors', value: (b) => b.rejected + b.failed },
  ];
  const max = niceCeiling(Math.max(1, ...buckets.map((b) => b.total)));
  const plotWidth = fullWidth - left - 4;
  const plotHeight = height - top - bottom;
  const slot = plotWidth / Math.max(1, buckets.length);
  const y = (value) => top + plotHeight - (value / max) * plotHeight;
  const chart = svg('svg', { viewBox: `0 0 ${fullWidth} ${height}`, width: fullWidth, height, role: 'img', 'aria-label': t('dash.chart') });
  const axis = svg('g', { class: 'axis' });
  for (const value of Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max]) {
    axis.append(
      svg('line', { x1: left, x2: fullWidth, y1: y(value), y2: y(value) }),
      svg('text', { x: left - 4, y: y(value) + em * 0.25, 'text-anchor': 'end' }, formatNumber(value)),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 6));
  const clock = labeller(buckets);
  buckets.forEach((bucket, index) => {
    const x = left + index * slot;
    if (index % labelEvery === 0) {
      axis.append(svg('text', { x: x + slot / 2, y: height - em * 0.25, 'text-anchor': 'middle' }, clock(bucket.start)));
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
    group.append(svg('rect', { x, width: slot, y: top, height: plotHeight, fill: 'transparent' }));
    chart.append(group);
  });
  chart.prepend(axis);
  const legend = h(
    'div',
    { class: 'legend' },
    series.map((s) => h('span', {}, h('i', { class: s.name }), t(`chart.${s.name}`))),
    h('span', {}, `${unit} · max ${formatNumber(max)}`),
  );
  return h('div', { class: 'chart' }, chart, legend);
}
