// Internal notes and transfers with a note. A note is for agents only: it
// shows in the timeline, marked, and never goes to the customer. Transfer
// hands the open conversation to another agent or a queue; its note lands
// in the timeline before the transfer, for the receiving agent.

import { byId, randomId } from '../common/common.js';
import { api, enc } from './api.js';
import { announce, report } from './feedback.js';
import { S, current } from './state.js';
import { noteMessage, unassign } from './conversations.js';
import { putMessage, scrollTimeline } from './timeline.js';

const noteForm = byId('note-form');
const noteInput = byId('note-input');
const noteButton = byId('note-button');
const transferButton = byId('transfer-button');
const transferForm = byId('transfer-form');

/** True if the signed-in person holds the open conversation. */
function holds() {
  const o = S && S.open;
  return !!(o && o.loaded && S.assigned.indexOf(o.id) >= 0
    && !(o.conversation && o.conversation.status === 'resolved'));
}

function updateEnabled() {
  const ok = holds();
  noteInput.disabled = !ok;
  noteButton.disabled = !ok;
  transferButton.disabled = !ok;
  if (!ok) transferForm.hidden = true;
}
// The open conversation and its assignment change in other modules: follow.
setInterval(updateEnabled, 500);

let noteKey = null;
let noteText = null;
noteForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!holds()) return;
  const text = noteInput.value;
  if (!text.trim()) { noteInput.focus(); return; }
  // The same text keeps its key, so a retry after a lost answer is stored once.
  if (noteText !== text) { noteKey = randomId('n'); noteText = text; }
  const open = S.open;
  const token = S.token;
  noteButton.disabled = true;
  api('POST', '/api/conversations/' + enc(open.id) + '/notes', { text, client_id: noteKey }).then((m) => {
    if (!current(token)) return;
    noteButton.disabled = false;
    if (noteInput.value === text) noteInput.value = '';
    noteText = null;
    if (S.open === open) { putMessage(m, true); scrollTimeline(true); }
    noteMessage(m);
    announce('Internal note added.');
  }).catch((err) => { noteButton.disabled = false; report(err); });
});

transferButton.addEventListener('click', () => {
  transferForm.hidden = !transferForm.hidden;
  if (!transferForm.hidden) transferForm.elements.target.focus();
});
byId('transfer-cancel').addEventListener('click', () => { transferForm.hidden = true; transferButton.focus(); });
transferForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!holds()) return;
  const f = transferForm.elements;
  const target = f.target.value.trim();
  if (!target) { f.target.focus(); return; }
  const body = { note: f.note.value };
  body[f.kind.value === 'queue' ? 'queue' : 'agent'] = target;
  const open = S.open;
  const token = S.token;
  f.submit.disabled = true;
  api('POST', '/api/conversations/' + enc(open.id) + '/handover', body).then((r) => {
    if (!current(token)) return;
    f.submit.disabled = false;
    transferForm.reset();
    transferForm.hidden = true;
    unassign(open.id);
    announce('Conversation transferred to ' + (r && r.to ? r.to : target) + '.');
  }).catch((err) => { f.submit.disabled = false; report(err); });
});
