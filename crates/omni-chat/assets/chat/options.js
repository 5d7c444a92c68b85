// Quick-reply options under a message: a bot's, or any outbound message
// that carries `options` (surveys use them too). Each is a button that
// sends its text as the customer's message. Only the newest message's
// options are offered: they go once the customer writes or another
// message comes.

import { make } from '../common/common.js';
import { t } from './i18n.js';

let pick = () => {};

/** Sets what pressing an option does: `onPick(text)`. */
export function init(onPick) { pick = onPick; }

/** Removes every option group under `root`. */
export function clear(root) {
  root.querySelectorAll('[data-testid="message-options"]').forEach((g) => g.remove());
}

/** Puts `m.options` as buttons under the message's element `li`. */
export function show(li, m) {
  const list = Array.isArray(m.options)
    ? m.options.filter((o) => typeof o === 'string' && o.trim())
    : [];
  if (!list.length || m.direction !== 'outbound') return;
  const group = make('div', 'options');
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', t('options'));
  group.setAttribute('data-testid', 'message-options');
  list.forEach((text) => {
    const b = make('button', 'option', text);
    b.type = 'button';
    b.setAttribute('data-testid', 'option-button');
    b.addEventListener('click', () => pick(text));
    group.appendChild(b);
  });
  li.appendChild(group);
}
