// The customer chat page: the start form, the composer, and what each
// server frame does. Rendering is in log.js, the connection in socket.js,
// unconfirmed messages in pending.js.

import { byId, errorBar, randomId } from '../common/common.js';
import * as log from './log.js';
import * as pending from './pending.js';
import * as socket from './socket.js';

const { local, K_VISITOR, K_PENDING, K_NAME, K_TOPIC } = pending;

let LIMIT = 4096;                 // bytes of UTF-8 text the server accepts; welcome says the real limit
const FRAME_GUARD = 60 * 1024;    // never put a frame this big on the wire (the server's frame limit is 64 KiB)
const TOPIC_LABELS = { sales: 'Sales', support: 'Support' };

const encoder = new TextEncoder();
const bytes = (s) => encoder.encode(s).length;

const el = {
  status: byId('status'), newConv: byId('new-conversation'), topicLabel: byId('topic-label'),
  start: byId('start'), startForm: byId('start-form'), name: byId('name-input'), topic: byId('topic-select'),
  chat: byId('chat'), composer: byId('composer'), input: byId('chat-input'), counter: byId('counter'),
};

// The error bar's tag is the client id of the message it is about.
const errors = errorBar();
function clearErrorFor(clientId) { if (errors.tag() === clientId) errors.clear(); }

log.init({
  retry: retryEntry,
  removed: clearErrorFor,
  confirmed: clearErrorFor,
});

// ---- frames ----
function transmit(entry) {
  return socket.send({ type: 'message', client_id: entry.client_id, text: entry.text });
}

function flushPending() {
  pending.all().forEach((e) => {
    if (e.state === 'pending' || e.state === 'failed') {
      if (e.state === 'failed') { e.state = 'pending'; log.refreshLocal(e); }
      transmit(e);
    }
  });
  pending.save();
}

function onFrame(f) {
  switch (f.type) {
    case 'welcome':
      if (typeof f.visitor === 'string' && f.visitor) local.set(K_VISITOR, f.visitor);
      if (typeof f.max_text_bytes === 'number' && f.max_text_bytes > 0) LIMIT = f.max_text_bytes;
      socket.welcome();
      log.renderHistory(f.history);
      flushPending();
      break;
    case 'ack': {
      const e = pending.get(f.client_id);
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
    e.state = 'failed';
    e.code = code;
    log.refreshLocal(e);
    pending.save();
    errors.show(message, e.client_id);
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

function retryEntry(clientId) {
  const e = pending.get(clientId);
  if (!e) return;
  e.state = 'pending';
  log.refreshLocal(e);
  pending.save();
  clearErrorFor(clientId);
  if (!transmit(e)) socket.reconnectNow();
}

// ---- composer ----
function updateCounter() {
  const n = bytes(el.input.value);
  const over = n > LIMIT;
  el.counter.textContent = n + ' / ' + LIMIT + ' bytes' + (over ? ' — too long' : '');
  el.counter.classList.toggle('over', over);
  el.input.setAttribute('aria-invalid', over ? 'true' : 'false');
  autosize();
}
function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = Math.min(el.input.scrollHeight + 2, 160) + 'px';
}

function sendCurrent() {
  const text = el.input.value;
  if (!text.trim()) { el.input.focus(); return; }
  const n = bytes(text);
  if (bytes(JSON.stringify(text)) + 100 > FRAME_GUARD) {
    errors.show('The message is ' + n + ' bytes; the limit is ' + LIMIT + ' bytes. Please shorten it.');
    el.input.focus();
    return;
  }
  const over = n > LIMIT;
  const entry = {
    client_id: randomId('c'), text, at_ms: Date.now(),
    state: 'pending', acked_at: null, persist: !over,
  };
  pending.add(entry);
  log.appendLocal(entry);
  if (!over) { el.input.value = ''; updateCounter(); }
  el.input.focus();
  if (!transmit(entry)) socket.reconnectNow();
}

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
  const topic = local.get(K_TOPIC);
  el.topicLabel.textContent = topic && TOPIC_LABELS[topic] ? TOPIC_LABELS[topic] : '';
  updateCounter();
  log.updateEmpty();
  socket.start({
    hello: () => ({ visitor: local.get(K_VISITOR), name: local.get(K_NAME), topic: local.get(K_TOPIC) }),
    frame: onFrame,
    closed(code) {
      if (code === 1009) errors.show('The connection was reset because a message was too large.');
    },
  });
  el.input.focus();
}

el.startForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = el.name.value.trim().slice(0, 100);
  local.set(K_NAME, name || null);
  local.set(K_TOPIC, el.topic.value || null);
  showChat();
});

el.newConv.addEventListener('click', () => {
  [K_VISITOR, K_PENDING, K_NAME, K_TOPIC].forEach((k) => local.set(k, null));
  local.keys().forEach((key) => { if (key && key.indexOf('omni.') === 0) local.set(key, null); });
  socket.close('new conversation');
  location.reload();
});

window.addEventListener('online', () => socket.reconnectNow());
window.addEventListener('pagehide', () => socket.close('bye'));

// ---- boot ----
pending.load();
const wanted = new URLSearchParams(location.search).get('topic');
if (wanted && Array.from(el.topic.options).some((o) => o.value === wanted)) el.topic.value = wanted;
if (local.get(K_VISITOR)) {
  showChat();
} else {
  el.start.hidden = false;
  el.name.focus();
}
