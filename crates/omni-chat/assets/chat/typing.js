// Typing and reading between the customer and the agent: the customer's
// typing goes to the server (`typing` frames: true at most every 2 s while
// they type, false once they stop for 3 s or send); the agent's typing
// shows under the messages ("Alice is typing…", hidden by itself 6 s after
// the last word of it); a `read` frame marks the customer's messages the
// agent has seen "Read".

import { byId, make } from '../common/common.js';
import { t } from './i18n.js';
import * as socket from './socket.js';

const SEND_EVERY_MS = 2000;
const IDLE_MS = 3000;
const SHOW_MS = 6000;

let sentTyping = false;
let sentAt = 0;
let idleTimer = null;
let hideTimer = null;

const input = byId('chat-input');
const indicator = make('p', 'typing');
indicator.setAttribute('data-testid', 'agent-typing');
indicator.setAttribute('aria-live', 'polite');
indicator.hidden = true;
const logWrap = byId('log-wrap');
logWrap.parentNode.insertBefore(indicator, logWrap.nextSibling);

function tell(typing) {
  if (!socket.send({ type: 'typing', typing })) return;
  sentTyping = typing;
  sentAt = Date.now();
}

/** The customer sent their message or cleared the box: they stopped. */
export function stopped() {
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
  if (sentTyping) tell(false);
}

input.addEventListener('input', () => {
  if (!input.value.trim()) { stopped(); return; }
  if (!sentTyping || Date.now() - sentAt >= SEND_EVERY_MS) tell(true);
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(stopped, IDLE_MS);
});

/** A `typing` frame: the agent types, or stopped. */
export function showAgentTyping(f) {
  if (hideTimer) { clearTimeout(hideTimer); hideTimer = null; }
  if (!f.typing) { indicator.hidden = true; indicator.textContent = ''; return; }
  indicator.textContent = t('agentTyping', { agent: f.agent_name || t('theAgent') });
  indicator.hidden = false;
  hideTimer = setTimeout(() => { indicator.hidden = true; indicator.textContent = ''; }, SHOW_MS);
}

// Ids the agent has read. A `read` frame may come before the message it
// names is on the page (the history is still being drawn, or the bubble is
// redrawn): the mark is put on as soon as the message shows.
const readIds = new Set();

function putMark(li) {
  if (li.dataset.read === 'true') return;
  const meta = li.querySelector('.meta');
  if (!meta) return;
  li.dataset.read = 'true';
  const mark = make('span', 'read-mark', t('read'));
  mark.setAttribute('data-testid', 'read-mark');
  meta.appendChild(mark);
}

function markShown() {
  if (!readIds.size) return;
  document.querySelectorAll('[data-testid="chat-message"][data-client-id]:not([data-read="true"])').forEach((li) => {
    if (readIds.has(li.dataset.clientId)) putMark(li);
  });
}

new MutationObserver(markShown).observe(logWrap, {
  childList: true, subtree: true, attributes: true, attributeFilter: ['data-client-id'],
});

/** A `read` frame: the agent has seen these messages of the customer. */
export function markRead(f) {
  (Array.isArray(f.client_ids) ? f.client_ids : []).forEach((id) => readIds.add(String(id)));
  markShown();
}
