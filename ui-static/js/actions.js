// Buttons that act (reprocess, deliver again, pause, reload): every role sees
// them, from the operator role up they can be used; the API refuses the
// others whatever a page does.

import { h } from './dom.js';
import { t } from './i18n.js';

export function operatorButton(session, label, attributes, action) {
  const allowed = session.may('operator');
  return h(
    'button',
    { type: 'button', ...attributes, ...(allowed ? {} : { title: t('needs.operator') }), disabled: !allowed, onclick: action },
    label,
  );
}
