// Where the customer's conversation stands, from the server's `status`
// frames: a line above the messages (the bot answering, waiting for an
// agent, who is answering, resolved) and, when it changes while the page is open, a
// note in the message list. While waiting, the server's `position` frames
// add the place in line and, when the queue can tell, the expected wait
// ("You are number 3 in line (about 2 minutes)."); the place goes away
// when an agent joins.

import { byId, hhmm } from '../common/common.js';
import { t } from './i18n.js';
import * as log from './log.js';

const el = byId('conv-status');
let last = null;   // { conversation_id, status, agent, since }
let place = null;  // { conversation_id, position, wait_secs }

/** An agent's first name, from their display name (or id). */
export function firstName(name) {
  return String(name || '').trim().split(/\s+/)[0] || t('anAgent');
}

function text(status, agent, since) {
  if (status === 'waiting') {
    return since ? t('statusWaitingSince', { time: hhmm(since) }) : t('statusWaiting');
  }
  if (status === 'assigned') return t('statusAssigned', { agent: firstName(agent) });
  // A bot answers first: the customer is not waiting for a person yet.
  if (status === 'bot') return t('statusBot');
  return t('statusResolved');
}

function note(status, agent) {
  if (status === 'assigned') return t('noteAssigned', { agent: firstName(agent) });
  if (status === 'resolved') return t('noteResolved');
  if (status === 'bot') return t('noteBot');
  return t('noteWaiting');
}

/** "You are number 3 in line (about 2 minutes)." */
export function placeText(position, waitSecs) {
  let text = t('place', { n: position });
  if (waitSecs > 0) {
    const minutes = Math.max(1, Math.round(waitSecs / 60));
    text += minutes === 1 ? t('placeWaitOne') : t('placeWaitMany', { m: minutes });
  }
  return text + '.';
}

function render() {
  el.textContent = text(last.status, last.agent, last.since);
  if (last.status === 'waiting' && place && place.conversation_id === last.conversation_id) {
    const p = document.createElement('span');
    p.className = 'queue-position';
    p.dataset.testid = 'queue-position';
    p.dataset.position = String(place.position);
    p.textContent = placeText(place.position, place.wait_secs);
    el.append(' ', p);
  }
}

/** Shows a `status` frame. */
export function show(f) {
  if (!f || typeof f.status !== 'string') return;
  const agent = typeof f.agent_name === 'string' ? f.agent_name : '';
  el.dataset.status = f.status;
  el.hidden = false;
  const changed = last && (last.conversation_id !== f.conversation_id
    || last.status !== f.status || last.agent !== agent);
  if (changed) log.appendNote(note(f.status, agent), f.status);
  last = { conversation_id: f.conversation_id, status: f.status, agent, since: f.waiting_since_ms };
  if (f.status !== 'waiting') place = null;
  render();
}

/** Shows a `position` frame: the place in line while waiting. */
export function showPosition(f) {
  if (!f || !Number.isInteger(f.position) || f.position < 1) return;
  place = {
    conversation_id: f.conversation_id,
    position: f.position,
    wait_secs: Number.isFinite(f.expected_wait_secs) ? f.expected_wait_secs : 0,
  };
  // Only while this conversation waits: a place that comes after an agent
  // joined is stale.
  if (last && last.status === 'waiting' && last.conversation_id === f.conversation_id) render();
}
