// Canned responses: typing `/` at the start of the reply box (or Ctrl+/
// anywhere in it) opens the list of the shared and the agent's own
// responses, filtered by shortcut and title as the agent types; Enter (or
// a click) inserts the chosen one with its placeholders filled
// ({customer.name}, {agent.name}, {conversation.id}, {conversation.queue}
// or {queue}, {channel}); Escape closes. The "Canned responses" panel adds
// personal ones (a supervisor's may be shared) and deletes them.

import { byId, make } from '../common/common.js';
import { api, enc } from './api.js';
import { el } from './dom.js';
import { announce, report } from './feedback.js';
import { S } from './state.js';

const picker = byId('canned-picker');
const list = byId('canned-list');
const search = byId('canned-search');
const manage = byId('canned-manage');
const form = byId('canned-form');
const mine = byId('canned-mine');

let all = null;        // the canned responses, once loaded
let loading = null;    // the load in flight
let forToken = null;   // the session they were loaded for
let shown = [];        // the filtered list
let active = 0;        // index of the highlighted one
let mode = null;       // 'slash' (the reply starts with /) or 'search' (Ctrl+/)
let at = 0;            // where Ctrl+/ inserts, in the reply

function load() {
  const token = S && S.token;
  if (all && forToken === token) return Promise.resolve(all);
  if (loading && forToken === token) return loading;
  forToken = token;
  loading = api('GET', '/api/canned').then((data) => {
    all = (data && Array.isArray(data.canned)) ? data.canned : [];
    loading = null;
    renderMine();
    return all;
  }, (err) => { loading = null; throw err; });
  return loading;
}

/** `text` with the open conversation's placeholders filled. */
export function fill(text) {
  const open = S && S.open;
  const c = (open && open.conversation) || {};
  const cu = (open && open.customer) || {};
  const a = (S && S.agent) || {};
  const values = {
    'customer.name': cu.display_name || 'there',
    'agent.name': a.name || a.agent_id || '',
    'conversation.id': c.id || (open && open.id) || '',
    'conversation.queue': c.queue || '',
    'queue': c.queue || '',
    'conversation.channel': c.last_channel || '',
    'channel': c.last_channel || '',
  };
  return text.replace(/\{([a-z_.]+)\}/g, (whole, key) => (key in values ? values[key] : whole));
}

function matches(query) {
  const q = query.toLowerCase();
  return (all || []).filter((c) => !q
    || c.shortcut.toLowerCase().indexOf(q) >= 0
    || c.title.toLowerCase().indexOf(q) >= 0);
}

function render() {
  list.replaceChildren();
  shown.forEach((c, i) => {
    const li = make('li', 'canned-item');
    li.id = 'canned-option-' + i;
    li.setAttribute('role', 'option');
    li.setAttribute('data-testid', 'canned-option');
    li.setAttribute('aria-selected', i === active ? 'true' : 'false');
    li.append(make('span', 'canned-shortcut', '/' + c.shortcut), make('span', 'canned-title', c.title),
      make('span', 'muted canned-kind', c.shared ? 'shared' : 'mine'));
    li.addEventListener('mousedown', (ev) => { ev.preventDefault(); insert(c); });
    list.appendChild(li);
  });
  if (!shown.length) {
    const none = make('li', 'muted', all && all.length ? 'No match.' : 'No canned responses yet.');
    none.setAttribute('role', 'option');
    none.setAttribute('aria-disabled', 'true');
    list.appendChild(none);
  }
  const target = mode === 'search' ? search : el.replyInput;
  if (shown.length) target.setAttribute('aria-activedescendant', 'canned-option-' + active);
  else target.removeAttribute('aria-activedescendant');
}

function open(query, how) {
  mode = how;
  picker.hidden = false;
  load().then(() => {
    if (!mode) return;
    shown = matches(query);
    active = Math.min(active, Math.max(0, shown.length - 1));
    render();
  }).catch((err) => { close(); report(err); });
}

function close() {
  mode = null;
  picker.hidden = true;
  search.hidden = true;
  shown = [];
  active = 0;
  el.replyInput.removeAttribute('aria-activedescendant');
}

function insert(c) {
  const text = fill(c.text);
  const input = el.replyInput;
  if (mode === 'slash') {
    input.value = text;
  } else {
    input.value = input.value.slice(0, at) + text + input.value.slice(at);
  }
  const end = mode === 'slash' ? text.length : at + text.length;
  close();
  input.focus();
  input.setSelectionRange(end, end);
  // The reply form keeps the draft and checks the limits on input.
  input.dispatchEvent(new Event('input', { bubbles: true }));
  announce('Inserted canned response ' + c.title + '.');
}

/** The `/query` the reply holds, or null when it is not a canned search. */
function slashQuery() {
  const v = el.replyInput.value;
  return /^\/\S*$/.test(v) ? v.slice(1) : null;
}

function navigate(ev) {
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    if (!shown.length) return true;
    active = (active + (ev.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
    render();
    return true;
  }
  if (ev.key === 'Enter' || ev.key === 'Tab') {
    if (!shown.length) return false;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    insert(shown[active]);
    return true;
  }
  if (ev.key === 'Escape') {
    ev.preventDefault();
    const was = mode;
    close();
    if (was === 'search') el.replyInput.focus();
    return true;
  }
  return false;
}

el.replyInput.setAttribute('aria-controls', 'canned-list');
el.replyInput.setAttribute('aria-autocomplete', 'list');
el.replyInput.addEventListener('input', () => {
  const q = slashQuery();
  if (q !== null) open(q, 'slash');
  else if (mode === 'slash') close();
});
// Registered as a capture listener so that Enter inserts the chosen
// response before the reply form's own Enter (which sends) sees it.
el.replyInput.addEventListener('keydown', (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key === '/') {
    ev.preventDefault();
    at = el.replyInput.selectionStart || 0;
    search.value = '';
    search.hidden = false;
    open('', 'search');
    search.focus();
    return;
  }
  if (mode === 'slash') navigate(ev);
}, { capture: true });
el.replyInput.addEventListener('blur', () => { if (mode === 'slash') setTimeout(() => { if (document.activeElement !== el.replyInput) close(); }, 0); });
search.addEventListener('input', () => { active = 0; open(search.value, 'search'); });
search.addEventListener('keydown', (ev) => { navigate(ev); });

// ---- managing them ----

function renderMine() {
  mine.replaceChildren();
  (all || []).forEach((c) => {
    const li = make('li', 'canned-mine-item');
    li.setAttribute('data-testid', 'canned-entry');
    li.append(make('span', 'canned-shortcut', '/' + c.shortcut), make('span', null, ' ' + c.title + (c.shared ? ' (shared)' : '')));
    const role = el.roleBadge.textContent;
    if (!c.shared || role === 'supervisor' || role === 'admin') {
      const del = make('button', 'btn', 'Delete');
      del.type = 'button';
      del.setAttribute('aria-label', 'Delete canned response ' + c.shortcut);
      del.addEventListener('click', () => {
        api('DELETE', '/api/canned/' + enc(c.id)).then(() => {
          all = all.filter((x) => x.id !== c.id);
          renderMine();
          announce('Canned response deleted.');
        }).catch(report);
      });
      li.appendChild(del);
    }
    mine.appendChild(li);
  });
}

manage.addEventListener('toggle', () => { if (manage.open) load().catch(report); });
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = form.elements;
  const body = {
    shortcut: f.shortcut.value.trim(), title: f.title.value.trim(), text: f.text.value,
    shared: !!(f.shared && f.shared.checked),
  };
  api('POST', '/api/canned', body).then((c) => {
    return load().then(() => {
      if (c && !all.some((x) => x.id === c.id)) all.push(c);
      all.sort((a, b) => a.shortcut.localeCompare(b.shortcut));
      renderMine();
      form.reset();
      announce('Canned response /' + c.shortcut + ' saved.');
    });
  }).catch(report);
});
