// Where the customer's conversation stands, from the server's `status`
// frames: a line above the messages (waiting for an agent, who is
// answering, resolved) and, when it changes while the page is open, a
// note in the message list.

import { byId, hhmm } from '../common/common.js';
import * as log from './log.js';

const el = byId('conv-status');
let last = null;   // { conversation_id, status, agent }

/** An agent's first name, from their display name (or id). */
export function firstName(name) {
  return String(name || '').trim().split(/\s+/)[0] || 'An agent';
}

function text(status, agent, since) {
  if (status === 'waiting') {
    return 'Waiting for an agent' + (since ? ' since ' + hhmm(since) : '') + ' — we will be with you shortly.';
  }
  if (status === 'assigned') return 'You are chatting with ' + firstName(agent) + '.';
  return 'This conversation is resolved. Write again if you need more help.';
}

function note(status, agent) {
  if (status === 'assigned') return firstName(agent) + ' joined the conversation';
  if (status === 'resolved') return 'The conversation was resolved';
  return 'Waiting for an agent';
}

/** Shows a `status` frame. */
export function show(f) {
  if (!f || typeof f.status !== 'string') return;
  const agent = typeof f.agent_name === 'string' ? f.agent_name : '';
  el.dataset.status = f.status;
  el.textContent = text(f.status, agent, f.waiting_since_ms);
  el.hidden = false;
  const changed = last && (last.conversation_id !== f.conversation_id
    || last.status !== f.status || last.agent !== agent);
  if (changed) log.appendNote(note(f.status, agent), f.status);
  last = { conversation_id: f.conversation_id, status: f.status, agent };
}
