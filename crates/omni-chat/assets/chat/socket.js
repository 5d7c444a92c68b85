// The chat WebSocket: connects with `hello`, reconnects with backoff, and
// hands every frame to the page. Frames are sent only once `welcome` came.

import { backoff, byId, setStatus, wsUrl } from '../common/common.js';
import { t } from './i18n.js';

const statusEl = byId('status');

let ws = null;
let welcomed = false;
let attempt = 0;
let reconnectTimer = null;
let started = false;
let handlers = { hello: () => ({}), frame() {}, closed() {} };

/**
 * Starts connecting. `h.hello()` gives the hello frame, `h.frame(f)` gets
 * every frame, `h.closed(code, reason)` hears of every close.
 */
export function start(h) {
  handlers = h;
  started = true;
  connect();
}

function show(state, text) { setStatus(statusEl, state, text); }

function connect() {
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
  welcomed = false;
  show(attempt === 0 ? 'connecting' : 'reconnecting', t(attempt === 0 ? 'connecting' : 'reconnecting'));
  let sock;
  try {
    sock = new WebSocket(wsUrl('/ws'));
  } catch {
    scheduleReconnect();
    return;
  }
  ws = sock;
  sock.onopen = () => {
    if (ws !== sock) return;
    sock.send(JSON.stringify({ type: 'hello', ...handlers.hello() }));
  };
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (frame && typeof frame === 'object') handlers.frame(frame);
  };
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null;
    welcomed = false;
    handlers.closed(ev.code, ev.reason);
    scheduleReconnect();
  };
  sock.onerror = () => { /* a close event follows */ };
}

function scheduleReconnect() {
  if (reconnectTimer) return;
  const delay = backoff(attempt);
  attempt++;
  show('reconnecting', t('reconnecting'));
  statusEl.title = t('nextAttempt', { s: Math.round(delay / 1000) });
  reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
}

/** The server said `welcome`: frames may go out. */
export function welcome() {
  welcomed = true;
  attempt = 0;
  statusEl.title = '';
  show('connected', t('connected'));
}

/** Reconnects at once if the socket is closed and started. */
export function reconnectNow() {
  if (!started || (ws && ws.readyState !== WebSocket.CLOSED)) return;
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  connect();
}

/** Sends a frame; false if it could not go out now. */
export function send(obj) {
  if (!ws || ws.readyState !== WebSocket.OPEN || !welcomed) return false;
  try { ws.send(JSON.stringify(obj)); return true; } catch { return false; }
}

/** Closes the socket for good (page hidden, new conversation). */
export function close(reason) {
  if (!ws) return;
  const s = ws;
  ws = null;
  try { s.close(1000, reason); } catch { /* already closed */ }
}
