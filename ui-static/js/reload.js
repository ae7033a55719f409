// The reload button's dialog, and the list of a refused reload's errors
// (file:line:column: message), also shown on the dashboard.

import { post, ApiError } from './api.js';
import { h, toast } from './dom.js';
import { t, statusText, formatTime } from './i18n.js';

/** A refused reload's errors as a banner. */
export function refusedBanner(report, title = t('reload.refused')) {
  return h(
    'div',
    { class: 'banner bad', id: 'reload-errors', role: 'alert' },
    h('strong', {}, title),
    report.at ? h('span', { class: 'muted' }, ` · ${formatTime(report.at, false)}`) : null,
    h('ul', {}, (report.errors ?? []).map((e) => h('li', { class: 'reload-error' }, e.text ?? `${e.file}:${e.line}:${e.column}: ${e.message}`))),
  );
}

function appliedSummary(report) {
  const routes = report.routes ?? {};
  const names = (list) => (list?.length ? `: ${list.join(', ')}` : '');
  return h(
    'div',
    { class: 'banner ok', id: 'reload-applied' },
    h('strong', {}, t('reload.applied')),
    h(
      'ul',
      {},
      h('li', {}, `${t('reload.added')} ${routes.added?.length ?? 0}${names(routes.added)}`),
      h('li', {}, `${t('reload.changed')} ${routes.changed?.length ?? 0}${names(routes.changed)}`),
      h('li', {}, `${t('reload.removed')} ${routes.removed?.length ?? 0}${names(routes.removed)}`),
      h('li', {}, `${t('reload.unchanged')} ${routes.unchanged ?? 0}`),
    ),
    report.restart_required?.length
      ? h(
          'p',
          {},
          `${t('reload.restart')}: `,
          report.restart_required.map((r) => `${r.setting} (${r.running} → ${r.configured})`).join(', '),
        )
      : null,
  );
}

/** Asks, reloads, and shows the outcome in a dialog. */
export async function reloadDialog() {
  if (!window.confirm(t('reload.confirm'))) return;
  let report;
  try {
    report = await post('/api/reload');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 422) {
      toast(`${t('reload')}: ${e.message}`, true);
      return;
    }
    report = e.body;
  }
  const applied = report.status === 'applied';
  const dialog = h(
    'dialog',
    { id: 'reload-dialog' },
    h('h2', {}, t('reload'), ' ', h('span', { class: `badge ${report.status}` }, statusText(report.status))),
    applied ? appliedSummary(report) : refusedBanner(report),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'primary', onclick: () => dialog.close() }, t('close'))),
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    window.dispatchEvent(new Event('medbus:reloaded'));
  });
  document.body.append(dialog);
  dialog.showModal();
}
