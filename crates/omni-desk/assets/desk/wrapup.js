// Resolving with a wrap-up code: when the open conversation's queue has
// wrap-up codes (`[[queues]] wrapup_codes`, from /api/desk/settings),
// Resolve first asks for one, with an optional internal note; the
// server refuses a resolve without one.

import { byId, make } from '../common/common.js';
import { el } from './dom.js';
import { report } from './feedback.js';
import { S } from './state.js';
import { settingsLoaded } from './presence.js';
import { resolveOpen } from './reply.js';

const form = byId('wrapup-form');
const code = byId('wrapup-code');
const note = byId('wrapup-note');

function codesOf(s, queue) {
  return (s && s.wrapup_codes && s.wrapup_codes[queue]) || [];
}

// A capture listener: it runs before the reply form's Resolve and decides,
// once the desk's settings are loaded (a Resolve right after sign-in must
// not go out without the code the server will ask for), whether to ask for
// a code or resolve at once.
el.resolve.addEventListener('click', (ev) => {
  const c = S && S.open && S.open.conversation;
  if (!c) return;
  ev.stopImmediatePropagation();
  settingsLoaded().then((s) => {
    const codes = codesOf(s, c.queue);
    if (!codes.length) { resolveOpen().catch(() => {}); return; }
    code.replaceChildren(make('option', null, 'Choose…'));
    code.firstChild.value = '';
    codes.forEach((k) => { const o = make('option', null, k); o.value = k; code.appendChild(o); });
    note.value = '';
    form.hidden = false;
    code.focus();
  });
}, { capture: true });

byId('wrapup-cancel').addEventListener('click', () => { form.hidden = true; el.resolve.focus(); });
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!code.value) { code.focus(); return; }
  const submit = form.elements.submit;
  submit.disabled = true;
  resolveOpen({ wrapup_code: code.value, note: note.value }).then(() => {
    submit.disabled = false;
    form.hidden = true;
  }, (err) => { submit.disabled = false; if (err) report(err); });
});
