// "My conversations": the list of the agent's conversations with a summary
// each (customer, channel, queue, last message, unread).

import { hhmm, make } from '../common/common.js';
import { api, enc } from './api.js';
import { badge, el, reconcile } from './dom.js';
import { S, current } from './state.js';
import { refreshOffersFor } from './offers.js';
import { openConversation, setConvNotice } from './view.js';
import { cxMarker } from './cx.js';

const convEls = new Map();

/** The summary of a conversation, if loaded. */
export function summaryOf(id) { return S.summaries.get(id); }

/** Loads a conversation's summary once. */
export function loadSummary(id) {
  if (!S || S.summaries.has(id)) return;
  S.summaries.set(id, { loading: true });
  const token = S.token;
  api('GET', '/api/conversations/' + enc(id)).then((data) => {
    if (!current(token)) return;
    setSummaryFrom(id, data);
  }).catch(() => {
    if (!current(token)) return;
    const s = S.summaries.get(id);
    if (s) s.loading = false;
  });
}

/** Sets a conversation's summary from its API answer. */
export function setSummaryFrom(id, data) {
  if (!data) return;
  const c = data.conversation || {};
  const msgs = Array.isArray(data.messages) ? data.messages : [];
  const last = msgs.length ? msgs[msgs.length - 1] : null;
  const s = S.summaries.get(id) || {};
  s.loading = false;
  s.name = (data.customer && data.customer.display_name) || 'Customer';
  s.queue = c.queue; s.status = c.status; s.channel = c.last_channel; s.attributes = c.attributes;
  if (last) { s.last = last.text; s.lastAt = last.at_ms; s.lastDirection = last.direction; }
  S.summaries.set(id, s);
  refreshConvItem(id);
  refreshOffersFor(id);
}

/** Notes a conversation update in its summary. */
export function noteConversation(c) {
  const s = S.summaries.get(c.id);
  if (s && !s.loading) {
    s.status = c.status; s.queue = c.queue; s.channel = c.last_channel;
    if (c.attributes) s.attributes = c.attributes;
    refreshConvItem(c.id);
  }
}

/** Notes a new message in its conversation's summary. */
export function noteMessage(m) {
  const s = S.summaries.get(m.conversation_id);
  if (s && !s.loading) {
    s.last = m.text; s.lastAt = m.at_ms; s.lastDirection = m.direction;
    if (m.direction === 'inbound' && m.channel) s.channel = m.channel;
    refreshConvItem(m.conversation_id);
  }
}

/** Forgets every item (sign-out). */
export function clearConversations() {
  el.convs.replaceChildren();
  convEls.clear();
}

/** Redraws the list from `S.assigned`. */
export function renderConversations() {
  reconcile(el.convs, convEls, S.assigned, buildConvItem);
  S.assigned.forEach((id) => { refreshConvItem(id); loadSummary(id); });
  el.convsEmpty.hidden = S.assigned.length > 0;
  el.convCount.textContent = String(S.assigned.length);
}

function buildConvItem(id) {
  const li = make('li');
  const b = make('button', 'conv');
  b.type = 'button';
  b.setAttribute('data-testid', 'conversation-item');
  b.dataset.conversationId = id;
  const top = make('span', 'conv-top');
  top.append(make('span', 'conv-name'), make('span', 'conv-time'));
  b.append(top, make('span', 'conv-sub'), make('span', 'conv-last'), make('span', 'visually-hidden conv-unread', '(unread)'));
  b.addEventListener('click', () => openConversation(id, true));
  li.appendChild(b);
  return li;
}

/** Redraws one item. */
export function refreshConvItem(id) {
  const li = convEls.get(id);
  if (!li) return;
  const b = li.firstChild;
  const s = summaryOf(id) || {};
  const unread = S.unread.has(id);
  b.dataset.unread = unread ? 'true' : 'false';
  b.setAttribute('aria-current', S.open && S.open.id === id ? 'true' : 'false');
  b.querySelector('.conv-name').textContent = s.name || (s.loading ? 'Loading…' : id);
  b.querySelector('.conv-time').textContent = hhmm(s.lastAt);
  const sub = b.querySelector('.conv-sub');
  sub.replaceChildren();
  if (s.channel) sub.appendChild(badge(s.channel));
  const bits = [];
  if (s.queue) bits.push(s.queue);
  if (s.status === 'resolved') bits.push('resolved');
  sub.appendChild(make('span', null, bits.join(' · ')));
  const cx = cxMarker(s.attributes);
  if (cx) sub.appendChild(cx);
  const last = b.querySelector('.conv-last');
  last.textContent = s.last ? (s.lastDirection === 'outbound' ? 'You: ' : '') + s.last : '';
  last.hidden = !s.last;
  b.querySelector('.conv-unread').hidden = !unread;
}

/** A conversation is no longer the agent's. */
export function onUnassigned(id) {
  S.unread.delete(id);
  S.summaries.delete(id);
  if (S.open && S.open.id === id) {
    const c = S.open.conversation;
    if (!(c && c.status === 'resolved')) setConvNotice('This conversation is no longer assigned to you.');
  }
}

/** Removes a conversation from the agent's list (resolved or released). */
export function unassign(id) {
  const i = S.assigned.indexOf(id);
  if (i < 0) return;
  S.assigned.splice(i, 1);
  onUnassigned(id);
  renderConversations();
}
