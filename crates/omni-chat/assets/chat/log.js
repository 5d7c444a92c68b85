// The message log: server messages and the customer's local ones, with
// their states (sending, retrying, sent, not sent) and the Remove button,
// and notes on the conversation (an agent joined, resolved, an automatic
// answer of the service).

import { byId, channelLabel, hhmm, make } from '../common/common.js';
import { t } from './i18n.js';
import * as pending from './pending.js';
import * as receipts from './receipts.js';

const logWrap = byId('log-wrap');
const log = byId('chat-log');
const emptyHint = byId('empty-hint');

const shownIds = new Set();          // server message ids on screen
const bubbleByClient = new Map();    // client_id -> element

let actions = { removed() {}, confirmed() {} };

/**
 * Sets what happens on `removed(clientId)` after a rejected message is
 * removed, and `confirmed(clientId)` when the server's copy of a local
 * message arrives.
 */
export function init(a) { actions = a; }

function nearBottom() {
  return logWrap.scrollHeight - logWrap.scrollTop - logWrap.clientHeight < 80;
}
function scrollToBottom() { logWrap.scrollTop = logWrap.scrollHeight; }
export function updateEmpty() { emptyHint.hidden = log.children.length > 0; }

function buildBubble(direction) {
  const li = make('li', 'msg');
  li.setAttribute('data-testid', 'chat-message');
  li.dataset.direction = direction;
  if (direction === 'outbound') li.appendChild(make('p', 'sender'));
  else li.appendChild(make('span', 'visually-hidden', t('you')));
  const b = make('div', 'bubble');
  b.setAttribute('data-testid', 'message-text');
  li.appendChild(b);
  const meta = make('div', 'meta');
  const channel = make('span', 'channel-tag');
  channel.hidden = true;
  meta.appendChild(channel);
  meta.appendChild(make('time'));
  meta.appendChild(make('span', 'state'));
  li.appendChild(meta);
  return li;
}

/** Whether no agent wrote `m`: an automatic answer of the service (a
 * bot's message is a bubble of its own). */
function isAutomatic(m) { return m.direction === 'outbound' && !m.agent_id && !m.bot; }

// A site's automatic answers in the customer's language: the service's
// text to the site's (docs/widget.md, "Languages").
const automaticTexts = new Map();

/**
 * Sets the site's translations of automatic answers (`[{original, text}]`)
 * and redraws the ones on screen.
 */
export function translateAutomatic(list) {
  (Array.isArray(list) ? list : []).forEach((a) => {
    if (a && typeof a.original === 'string' && typeof a.text === 'string') automaticTexts.set(a.original, a.text);
  });
  log.querySelectorAll('[data-kind="automatic"]').forEach((li) => {
    const text = automaticTexts.get(li.dataset.original);
    if (text) li.textContent = text;
  });
}

/** An automatic answer (e.g. every queue full), shown as a system line. */
function automaticNote(m) {
  const li = make('li', 'system-note', automaticTexts.get(m.text) || m.text);
  li.dataset.original = m.text;
  li.setAttribute('data-testid', 'system-note');
  li.dataset.kind = 'automatic';
  li.dataset.messageId = m.id;
  return li;
}

function fillServer(li, m) {
  li.dataset.messageId = m.id;
  if (m.client_id) li.dataset.clientId = m.client_id;
  const sender = li.querySelector('.sender');
  if (sender) sender.textContent = m.bot ? t('assistant') : (m.agent_name || t('agent'));
  li.querySelector('.bubble').textContent = m.text;
  // A bot's quick replies: a button per option that sends it.
  li.dataset.bot = m.bot || '';
  li.querySelectorAll('.quick-replies').forEach((q) => q.remove());
  if (m.bot && Array.isArray(m.options) && m.options.length) {
    const q = make('div', 'quick-replies');
    m.options.forEach((o) => q.appendChild(button(String(o), 'quick-reply', String(o), () => actions.say(String(o)))));
    li.querySelector('.bubble').after(q);
  }
  const time = li.querySelector('time');
  time.textContent = hhmm(m.at_ms);
  if (m.at_ms) time.dateTime = new Date(m.at_ms).toISOString();
  const channel = li.querySelector('.channel-tag');
  if (m.channel && m.channel !== 'chat') {
    channel.hidden = false;
    channel.textContent = channelLabel(m.channel);
    channel.title = 'Sent by ' + m.channel;
  } else {
    channel.hidden = true;
  }
  if (m.direction === 'inbound') setBubbleState(li, 'sent');
}

function button(text, testid, label, onClick) {
  const b = make('button', null, text);
  b.type = 'button';
  b.setAttribute('data-testid', testid);
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function setBubbleState(li, state, entry) {
  li.dataset.state = state === 'rejected' ? 'failed' : state;
  li.title = '';
  const label = li.querySelector('.state');
  const meta = li.querySelector('.meta');
  meta.querySelectorAll('button').forEach((b) => b.remove());
  if (state === 'pending') label.textContent = t('sending');
  else if (state === 'sent') label.textContent = t('sent');
  else if (state === 'retrying') {
    // The server could not take it just now; main.js sends it again by itself.
    label.textContent = t('retrying');
    li.title = t('retryingTitle');
  } else if (state === 'rejected') {
    label.textContent = t(entry && entry.code === 'too_large' ? 'notSentTooLong' : 'notSent');
    meta.appendChild(button(t('remove'), 'remove-button', t('removeTitle'), () => {
      pending.remove(entry.client_id);
      const b = bubbleByClient.get(entry.client_id);
      if (b) b.remove();
      bubbleByClient.delete(entry.client_id);
      updateEmpty();
      actions.removed(entry.client_id);
    }));
  }
}

/** Shows a live server message (or turns the local bubble it confirms into it). */
export function appendServerMessage(m) {
  if (!m || typeof m.id !== 'string') return;
  if (shownIds.has(m.id)) return;
  const stick = nearBottom();
  // Our own message coming back: turn the local bubble into the server's.
  if (m.direction === 'inbound' && m.client_id && bubbleByClient.has(m.client_id)) {
    const own = bubbleByClient.get(m.client_id);
    bubbleByClient.delete(m.client_id);
    pending.remove(m.client_id);
    actions.confirmed(m.client_id);
    fillServer(own, m);
    shownIds.add(m.id);
    return;
  }
  if (m.client_id && pending.get(m.client_id)) pending.remove(m.client_id);
  if (isAutomatic(m)) {
    log.appendChild(automaticNote(m));
    shownIds.add(m.id);
    updateEmpty();
    if (stick) scrollToBottom();
    return;
  }
  const li = buildBubble(m.direction === 'outbound' ? 'outbound' : 'inbound');
  fillServer(li, m);
  shownIds.add(m.id);
  // Live messages arrive in order: they go last.
  log.appendChild(li);
  receipts.watch(li, m);
  updateEmpty();
  if (stick || m.direction === 'inbound') scrollToBottom();
}

/** Shows a local message that has just been sent. */
export function appendLocal(entry) {
  const li = buildBubble('inbound');
  li.dataset.clientId = entry.client_id;
  li.querySelector('.bubble').textContent = entry.text;
  const time = li.querySelector('time');
  time.textContent = hhmm(entry.at_ms);
  time.dateTime = new Date(entry.at_ms).toISOString();
  setBubbleState(li, entry.state, entry);
  bubbleByClient.set(entry.client_id, li);
  log.appendChild(li);
  updateEmpty();
  scrollToBottom();
}

/** Redraws a local message's state. */
export function refreshLocal(entry) {
  const li = bubbleByClient.get(entry.client_id);
  if (li) setBubbleState(li, entry.state, entry);
}

/** Replaces the log with the server's history and the local messages it lacks. */
export function renderHistory(history) {
  logWrap.setAttribute('aria-busy', 'true');
  receipts.reset();
  log.replaceChildren();
  shownIds.clear();
  bubbleByClient.clear();
  const list = Array.isArray(history) ? history.slice() : [];
  list.sort((a, b) => (a.seq || 0) - (b.seq || 0));
  const confirmed = new Set();
  list.forEach((m) => {
    if (!m || typeof m.id !== 'string' || shownIds.has(m.id)) return;
    if (m.client_id) confirmed.add(m.client_id);
    if (isAutomatic(m)) {
      log.appendChild(automaticNote(m));
      shownIds.add(m.id);
      return;
    }
    const li = buildBubble(m.direction === 'outbound' ? 'outbound' : 'inbound');
    fillServer(li, m);
    shownIds.add(m.id);
    log.appendChild(li);
    receipts.watch(li, m);
  });
  // Local messages the server already has are done; the rest stay on screen.
  const now = Date.now();
  pending.all().forEach((e) => {
    if (confirmed.has(e.client_id) || pending.stale(e, now)) { pending.remove(e.client_id); return; }
    appendLocal(e);
  });
  logWrap.removeAttribute('aria-busy');
  updateEmpty();
  scrollToBottom();
}

/** Adds a note about the conversation (`kind`: its status) at the end. */
export function appendNote(text, kind) {
  const stick = nearBottom();
  const li = make('li', 'system-note', text);
  li.setAttribute('data-testid', 'system-note');
  li.dataset.kind = kind;
  log.appendChild(li);
  updateEmpty();
  if (stick) scrollToBottom();
}
