// Typing and reading in the open conversation: the customer's typing
// (`typing` events) shows above the reply box, hidden by itself 6 s after
// the last word of it; the agent's typing goes to the customer (true at
// most every 2 s while they type, false once they stop for 3 s, send or
// switch conversations); while the open conversation is the agent's and
// the page is visible, the customer's messages shown are reported read
// (the customer's chat page marks them "Read"). Both go on the event
// socket; the desk server forwards them (crates/omni-desk/src/signals.rs).

import { make } from '../common/common.js';
import { el } from './dom.js';
import { S } from './state.js';
import { sendFrame } from './events.js';

const SEND_EVERY_MS = 2000;
const IDLE_MS = 3000;
const SHOW_MS = 6000;

const customerTyping = new Map();   // conversation id -> timer hiding it
let typingIn = null;                // conversation the agent was last told typing in
let sentAt = 0;
let idleTimer = null;

const indicator = make('p', 'typing');
indicator.setAttribute('data-testid', 'customer-typing');
indicator.setAttribute('aria-live', 'polite');
indicator.hidden = true;
el.replyForm.parentNode.insertBefore(indicator, el.replyForm);

/** Shows or hides the customer's typing for the open conversation. */
export function renderTyping() {
  const on = !!(S && S.open && customerTyping.has(S.open.id));
  const name = S && S.open && S.open.customer && S.open.customer.display_name;
  indicator.textContent = on ? (name || 'The customer') + ' is typing…' : '';
  indicator.hidden = !on;
}

/** A `typing` event of the customer. */
export function onCustomerTyping(f) {
  const id = f.conversation_id;
  if (!id) return;
  clearTimeout(customerTyping.get(id));
  if (f.typing) {
    customerTyping.set(id, setTimeout(() => { customerTyping.delete(id); renderTyping(); }, SHOW_MS));
  } else {
    customerTyping.delete(id);
  }
  renderTyping();
}

/** A message of the customer came: they are no longer typing it. */
export function customerSent(conversationId) {
  clearTimeout(customerTyping.get(conversationId));
  customerTyping.delete(conversationId);
  renderTyping();
}

function holds(id) { return !!(S && id && S.assigned.indexOf(id) >= 0); }

/** The agent stopped typing (sent, cleared, switched, or paused). */
export function agentStopped() {
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
  if (typingIn) {
    sendFrame({ type: 'typing', conversation_id: typingIn, typing: false });
    typingIn = null;
  }
}

el.replyInput.addEventListener('input', () => {
  const id = S && S.open && S.open.id;
  if (!holds(id) || !el.replyInput.value.trim()) { agentStopped(); return; }
  if (typingIn !== id) agentStopped();
  if (typingIn !== id || Date.now() - sentAt >= SEND_EVERY_MS) {
    if (sendFrame({ type: 'typing', conversation_id: id, typing: true })) { typingIn = id; sentAt = Date.now(); }
  }
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(agentStopped, IDLE_MS);
});

/**
 * Reports the open conversation's customer messages read, when it is the
 * agent's and the page is visible (the server forwards only progress).
 */
export function reportRead() {
  const open = S && S.open;
  if (!open || !open.loaded || !holds(open.id) || document.visibilityState !== 'visible') return;
  let upTo = 0;
  open.messages.forEach((m) => { if (m.direction === 'inbound' && m.seq > upTo) upTo = m.seq; });
  if (upTo > 0) sendFrame({ type: 'read', conversation_id: open.id, up_to_seq: upTo });
}
document.addEventListener('visibilitychange', reportRead);
