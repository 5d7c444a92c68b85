// The customer chat page: the start form, the composer, and what each
// server frame does. Rendering is in log.js, the connection in socket.js,
// unconfirmed messages in pending.js, the topics in topics.js, the
// conversation's status in status.js, read receipts in receipts.js, the
// text in the customer's language in i18n.js, a website's widget frame in
// site.js, files in attach.js, typing both ways and the agent's reading in
// typing.js, quick-reply options (a bot's) in options.js.

import { backoff, byId, errorBar, randomId } from '../common/common.js';
import * as attach from './attach.js';
import * as i18n from './i18n.js';
import * as log from './log.js';
import * as options from './options.js';
import * as pending from './pending.js';
import * as receipts from './receipts.js';
import * as site from './site.js';
import * as socket from './socket.js';
import * as status from './status.js';
import * as topics from './topics.js';
import * as typing from './typing.js';

const { local, K_VISITOR, K_PENDING, K_NAME, K_TOPIC } = pending;

// The visitor id, name and topic of this session, also kept in storage,
// which a site's frame on another site's page may not have.
let visitor = null;
const chosen = { name: null, topic: null };
const myName = () => chosen.name ?? local.get(K_NAME);
const myTopic = () => chosen.topic ?? local.get(K_TOPIC);
let LIMIT = 4096;                 // bytes of UTF-8 text the server accepts; welcome says the real limit
const FRAME_GUARD = 60 * 1024;    // never put a frame this big on the wire (the server's frame limit is 64 KiB)

const encoder = new TextEncoder();
const bytes = (s) => encoder.encode(s).length;
/** UTF-8 length of one code point. */
const cpBytes = (c) => { const n = c.codePointAt(0); return n < 0x80 ? 1 : n < 0x800 ? 2 : n < 0x10000 ? 3 : 4; };

const el = {
  status: byId('status'), newConv: byId('new-conversation'), topicLabel: byId('topic-label'),
  start: byId('start'), startForm: byId('start-form'), name: byId('name-input'),
  chat: byId('chat'), composer: byId('composer'), input: byId('chat-input'), counter: byId('counter'),
  send: byId('send-button'), confirm: byId('new-confirm'), confirmYes: byId('new-confirm-yes'),
  confirmNo: byId('new-confirm-no'),
};

// The error bar's tag is the client id of the message it is about.
const errors = errorBar();
function clearErrorFor(clientId) { if (errors.tag() === clientId) errors.clear(); }

log.init({
  removed: clearErrorFor,
  confirmed: clearErrorFor,
  // A bot's quick reply: sent as if typed.
  say: (text) => { el.input.value = text; sendCurrent(); },
});

// ---- frames ----
function transmit(entry) {
  return socket.send({ type: 'message', client_id: entry.client_id, text: entry.text });
}

function flushPending() {
  pending.all().forEach((e) => {
    if (e.state === 'pending' || e.state === 'retrying') transmit(e);
  });
  pending.save();
}

// `unavailable`: the server could not take the message just now. It goes
// again by itself, same client id (so never twice), after 1 s, 2 s, 4 s …
// up to 15 s; a reconnect sends it at once.
const resendTimers = new Map();   // client_id -> timer
function scheduleResend(e) {
  clearTimeout(resendTimers.get(e.client_id));
  const delay = backoff(Math.max(0, (e.attempt || 1) - 1));
  resendTimers.set(e.client_id, setTimeout(() => {
    resendTimers.delete(e.client_id);
    if (pending.get(e.client_id) !== e || e.state !== 'retrying') return;
    if (!transmit(e)) socket.reconnectNow();
  }, delay));
}
function stopResend(clientId) {
  clearTimeout(resendTimers.get(clientId));
  resendTimers.delete(clientId);
}

function onFrame(f) {
  switch (f.type) {
    case 'welcome':
      if (typeof f.visitor === 'string' && f.visitor) {
        visitor = f.visitor;
        local.set(K_VISITOR, f.visitor);
      }
      if (typeof f.max_text_bytes === 'number' && f.max_text_bytes > 0) LIMIT = f.max_text_bytes;
      attach.enable(f.max_attachment_bytes);
      updateCounter();
      socket.welcome();
      log.renderHistory(f.history);
      flushPending();
      receipts.flush();
      break;
    case 'ack': {
      const e = pending.get(f.client_id);
      if (f.client_id) stopResend(f.client_id);
      if (e && e.state !== 'rejected') {
        e.state = 'sent';
        e.acked_at = Date.now();
        log.refreshLocal(e);
        pending.save();
      }
      if (f.client_id) clearErrorFor(f.client_id);
      break;
    }
    case 'message':
      log.appendServerMessage(f.message);
      if (f.message && f.message.direction === 'outbound') typing.showAgentTyping({ typing: false });
      break;
    case 'status':
      status.show(f);
      break;
    case 'position':
      status.showPosition(f);
      break;
    case 'typing':
      typing.showAgentTyping(f);
      break;
    case 'read':
      typing.markRead(f);
      break;
    case 'error':
      onError(f);
      break;
    default:
      break;
  }
}

function onError(f) {
  const code = f.code || 'error';
  const message = f.message || 'Something went wrong.';
  const e = f.client_id ? pending.get(f.client_id) : null;
  if (!e) { errors.show(message); return; }
  if (code === 'not_ready') {
    // Sent before the session was ready; it is resent after the next welcome.
    e.state = 'pending';
    log.refreshLocal(e);
    return;
  }
  if (code === 'unavailable') {
    e.state = 'retrying';
    e.code = code;
    e.attempt = (e.attempt || 0) + 1;
    log.refreshLocal(e);
    pending.save();
    scheduleResend(e);
    return;
  }
  // Anything else will fail again as it is: do not resend it.
  e.state = 'rejected';
  e.code = code;
  e.persist = false;
  log.refreshLocal(e);
  pending.save();
  if (code === 'too_large') {
    if (!el.input.value) { el.input.value = e.text; updateCounter(); }
    el.input.focus();
  }
  errors.show(message, e.client_id);
}

// ---- composer ----
/**
 * What the counter says about `text`. The server's limit is LIMIT bytes of
 * UTF-8; the customer counts characters. Plain letters take one byte, so
 * the limit shown is the characters typed plus the bytes still free; past
 * it, `cut` is how many characters at the end have to go.
 */
function measure(text) {
  const cps = Array.from(text);
  let n = bytes(text);
  if (n <= LIMIT) return { chars: cps.length, max: cps.length + LIMIT - n, cut: 0 };
  let cut = 0;
  while (n > LIMIT && cps.length) { n -= cpBytes(cps.pop()); cut++; }
  return { chars: cps.length + cut, max: null, cut };
}

function updateCounter() {
  const m = measure(el.input.value);
  const over = m.cut > 0;
  el.counter.textContent = over
    ? i18n.t(m.cut === 1 ? 'counterOverOne' : 'counterOverMany', { n: m.chars, cut: m.cut })
    : i18n.t('counter', { n: m.chars, max: m.max });
  el.counter.classList.toggle('over', over);
  el.input.setAttribute('aria-invalid', over ? 'true' : 'false');
  el.send.disabled = over;
  el.send.title = over ? i18n.t('tooLong') : '';
  autosize();
}
function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = Math.min(el.input.scrollHeight + 2, 160) + 'px';
}

function sendCurrent() {
  const text = el.input.value;
  if (!text.trim()) { el.input.focus(); return; }
  sendText(text, true);
}

/** Sends `text` as the customer's message (`typed`: from the composer). */
function sendText(text, typed) {
  // Too long: the counter says how much to cut, and Send is off.
  if (measure(text).cut > 0 || bytes(JSON.stringify(text)) + 100 > FRAME_GUARD) {
    el.input.focus();
    return;
  }
  // The server may still refuse it (a smaller limit than the page knew).
  const over = bytes(text) > LIMIT;
  const entry = {
    client_id: randomId('c'), text, at_ms: Date.now(),
    state: 'pending', acked_at: null, persist: !over,
  };
  pending.add(entry);
  log.appendLocal(entry);
  typing.stopped();
  if (typed && !over) { el.input.value = ''; updateCounter(); }
  el.input.focus();
  if (!transmit(entry)) socket.reconnectNow();
}

// An option pressed is the customer saying its text.
options.init((text) => sendText(text, false));

el.composer.addEventListener('submit', (ev) => { ev.preventDefault(); sendCurrent(); });
el.input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
    ev.preventDefault();
    sendCurrent();
  }
});
el.input.addEventListener('input', updateCounter);

// ---- start ----
function showChat() {
  el.status.hidden = false;
  el.newConv.hidden = false;
  el.start.hidden = true;
  el.chat.hidden = false;
  el.topicLabel.textContent = topics.label(myTopic());
  updateCounter();
  log.updateEmpty();
  socket.start({
    hello: () => ({ visitor: visitor || local.get(K_VISITOR), name: myName(), topic: myTopic() }),
    frame: onFrame,
    closed(code, reason) {
      if (code === 1009) errors.show('The connection was reset because a message was too large.');
      // Refused by a limit of the server: its reason says when to retry.
      if (code === 1008 && reason) errors.show(reason);
    },
  });
  el.input.focus();
}

el.startForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await topicsLoaded;   // the menu is filled before its value counts
  const name = el.name.value.trim().slice(0, 100);
  chosen.name = name || null;
  chosen.topic = topics.picked();
  local.set(K_NAME, chosen.name);
  local.set(K_TOPIC, chosen.topic);
  showChat();
});

// "New conversation" asks first: it clears this page's messages.
el.newConv.addEventListener('click', () => {
  el.confirm.hidden = false;
  el.confirmNo.focus();
});
el.confirmNo.addEventListener('click', () => {
  el.confirm.hidden = true;
  el.newConv.focus();
});
el.confirmYes.addEventListener('click', () => {
  [K_VISITOR, K_PENDING, K_NAME, K_TOPIC].forEach((k) => local.set(k, null));
  local.keys().forEach((key) => { if (key && key.indexOf('omni.') === 0) local.set(key, null); });
  socket.close('new conversation');
  location.reload();
});

window.addEventListener('online', () => socket.reconnectNow());
window.addEventListener('pagehide', () => socket.close('bye'));

// ---- boot ----
i18n.choose(site.pageLang, navigator.languages, site.defaultLang());
i18n.apply();
attach.init({
  visitor: () => visitor || local.get(K_VISITOR),
  topic: myTopic,
  error: (text, tag) => errors.show(text, tag),
});
pending.load();
// A site's frame: its title, greeting, colors and topics; the page's own otherwise.
const siteLoaded = site.load(i18n.current());
siteLoaded.then((view) => { if (view) log.translateAutomatic(view.automatic); });
const topicsLoaded = siteLoaded.then((view) =>
  topics.load(new URLSearchParams(location.search).get('topic'), view ? view.topics : null));
topicsLoaded.then(() => { if (!el.chat.hidden) el.topicLabel.textContent = topics.label(myTopic()); });
if (local.get(K_VISITOR)) {
  showChat();
} else {
  el.start.hidden = false;
  el.name.focus();
}
