// Who may use the console and the admin API (GET /api/users, admins only):
// users with their role and open sessions, and API tokens. They are
// configured in medbus.yaml; the console only shows them.

import { get } from '../api.js';
import { h, replace } from '../dom.js';
import { t, formatNumber } from '../i18n.js';

function table(id, head, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: 'grid', id }, h('thead', {}, h('tr', {}, head.map((k) => h('th', {}, t(k))))), h('tbody', {}, rows)),
  );
}

export function render(main) {
  const result = h('div', {}, h('p', { class: 'loading' }, '…'));
  main.append(h('h1', {}, t('users.title')), h('p', { class: 'muted' }, t('users.hint')), result);
  get('/api/users')
    .then((answer) =>
      replace(
        result,
        h('h2', {}, t('users.users')),
        table(
          'users-table',
          ['users.name', 'users.role', 'users.sessions'],
          answer.users.map((u) =>
            h('tr', { dataset: { user: u.name } }, h('td', {}, u.name), h('td', {}, t(`role.${u.role}`)), h('td', { class: 'num' }, formatNumber(u.sessions))),
          ),
        ),
        h('h2', {}, t('users.tokens')),
        table(
          'tokens-table',
          ['users.name', 'users.role'],
          answer.tokens.map((token) => h('tr', {}, h('td', {}, token.name), h('td', {}, t(`role.${token.role}`)))),
        ),
      ),
    )
    .catch((e) => replace(result, h('div', { class: 'banner bad' }, e.status === 403 ? t('error.forbidden') : e.message)));
}
