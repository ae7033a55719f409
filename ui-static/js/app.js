// The console's shell: login, header, language, the reload button, and the
// hash router that shows one view at a time (#/, #/messages?..., #/messages/<id>,
// #/routes/<id>, #/callers, #/users).

import { get, post, onUnauthorized, ApiError } from './api.js';
import { h, replace, toast } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import { reloadDialog } from './reload.js';
import { operatorButton } from './actions.js';
import * as dashboard from './views/dashboard.js';
import * as messages from './views/messages.js';
import * as message from './views/message.js';
import * as route from './views/route.js';
import * as callers from './views/callers.js';
import * as users from './views/users.js';

const ROLES = ['viewer', 'operator', 'admin'];

/** What views know of the session. */
const session = {
  me: null,
  /** Whether the signed-in caller has at least `role`. */
  may(role) {
    return this.me !== null && ROLES.indexOf(this.me.role) >= ROLES.indexOf(role);
  },
};

let stopView = null;

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

function viewFor(parts) {
  if (parts.length === 0) return [dashboard, {}];
  if (parts[0] === 'messages' && parts.length === 1) return [messages, {}];
  if (parts[0] === 'messages' && parts.length === 2) return [message, { id: parts[1] }];
  if (parts[0] === 'routes' && parts.length === 2) return [route, { id: parts[1] }];
  if (parts[0] === 'callers') return [callers, {}];
  if (parts[0] === 'users') return [users, {}];
  return [null, {}];
}

function show() {
  if (!session.me) return;
  if (stopView) stopView();
  stopView = null;
  const { parts, params } = parseHash();
  const [view, args] = viewFor(parts);
  const main = document.getElementById('main');
  markNav(parts[0] ?? '');
  if (!view) {
    replace(main, h('p', { class: 'empty' }, t('not_found')));
    return;
  }
  main.replaceChildren();
  const stop = view.render(main, { ...args, params }, session);
  stopView = typeof stop === 'function' ? stop : null;
}

function markNav(section) {
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('current', link.dataset.section === section);
  }
}

function renderHeader() {
  document.title = t('app.title');
  const nav = document.getElementById('nav');
  replace(
    nav,
    h('a', { href: '#/', dataset: { section: '' } }, t('nav.dashboard')),
    h('a', { href: '#/messages', dataset: { section: 'messages' } }, t('nav.messages')),
    h('a', { href: '#/callers', dataset: { section: 'callers' } }, t('nav.callers')),
    session.may('admin') ? h('a', { href: '#/users', dataset: { section: 'users' } }, t('nav.users')) : null,
  );
  const actions = document.getElementById('top-actions');
  replace(
    actions,
    operatorButton(session, t('reload'), { id: 'reload-button' }, () => reloadDialog()),
    h('button', { type: 'button', id: 'lang-button', onclick: switchLanguage }, t('lang.switch')),
    h('span', { class: 'who', id: 'who' }, `${session.me.name} · ${t(`role.${session.me.role}`)}`),
    session.me.via === 'session'
      ? h('button', { type: 'button', id: 'logout-button', onclick: logout }, t('logout'))
      : null,
  );
  document.getElementById('top').hidden = false;
}

function switchLanguage() {
  setLang(lang() === 'zh' ? 'en' : 'zh');
  renderHeader();
  show();
}

async function logout() {
  try {
    await post('/api/logout');
  } catch {
    // The session may be gone already; the login form is shown either way.
  }
  showLogin();
}

function loginError(e) {
  if (e instanceof ApiError && e.status === 401) return t('login.failed');
  if (e instanceof ApiError && e.status === 429) {
    const seconds = Number(e.message.match(/(\d+) s/)?.[1] ?? 0);
    return t('login.too_many', { minutes: Math.max(1, Math.ceil(seconds / 60)) });
  }
  return e.message;
}

function showLogin(message = '') {
  if (stopView) stopView();
  stopView = null;
  session.me = null;
  document.getElementById('top').hidden = true;
  document.title = t('app.title');
  const error = h('p', { class: 'error', id: 'login-error' }, message);
  const name = h('input', { name: 'name', id: 'login-name', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', {
    name: 'password',
    id: 'login-password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, t('login.submit'));
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        try {
          await post('/api/login', { name: name.value, password: password.value });
          await start();
        } catch (e) {
          error.textContent = loginError(e);
          submit.disabled = false;
        }
      },
    },
    h('label', {}, t('login.name'), name),
    h('label', {}, t('login.password'), password),
    error,
    submit,
  );
  replace(
    document.getElementById('main'),
    h(
      'div',
      { class: 'login panel' },
      h('h1', {}, 'medbus'),
      h('div', { class: 'lang-row' }, h('button', { type: 'button', onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); showLogin(); } }, t('lang.switch'))),
      form,
    ),
  );
  name.focus();
}

async function start() {
  try {
    session.me = await get('/api/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
      return;
    }
    replace(document.getElementById('main'), h('p', { class: 'banner bad' }, `${t('error.network')}: ${e.message}`));
    return;
  }
  renderHeader();
  show();
}

onUnauthorized(() => {
  if (session.me) {
    toast(t('login.title'), true);
    showLogin();
  }
});
window.addEventListener('hashchange', show);
setLang(lang());
start();
