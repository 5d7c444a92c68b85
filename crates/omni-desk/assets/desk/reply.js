// The reply form and Resolve: sending a reply (with its channel), drafts
// kept per agent and conversation (in localStorage, so they survive
// switching conversations and reloading), the keys (Enter sends a chat or
// SMS reply; an email's Enter is a new line and Ctrl/Cmd+Enter sends), the
// SMS opt-out warning, the reply channel's length limit (Send is held back
// and the page says how much to cut), and what is enabled when.

import { randomId, storage } from '../common/common.js';
import { api, enc } from './api.js';
import { el } from './dom.js';
import { announce, report } from './feedback.js';
import { S, current, maxBytes, maxSegments } from './state.js';
import { charsOverSegments } from './sms.js';
import { noteMessage, unassign } from './conversations.js';
import { putMessage, scrollTimeline } from './timeline.js';
import { ymd } from './profile.js';
import { renderConversationFacts } from './view.js';
import { followupAtMs, renderFollowup, resetFollowupDate } from './followup.js';
import { renderSurvey } from './survey.js';
import { agentStopped } from './typing.js';
import * as attach from './attach.js';

const local = storage('local');
const MAC = /Mac|iPhone|iPad/.test(navigator.platform || '');

function draftKey(conversationId) {
  const agent = S && S.agent && S.agent.agent_id;
  return agent && conversationId ? 'omni.desk.draft.' + agent + '.' + conversationId : null;
}

/** Keeps (or, for an empty text, forgets) the draft of a conversation. */
function saveDraft(conversationId, text) {
  const key = draftKey(conversationId);
  if (key) local.set(key, text.trim() ? text : null);
}

/** Forgets the draft of a conversation (sent or resolved). */
export function dropDraft(conversationId) {
  const key = draftKey(conversationId);
  if (key) local.set(key, null);
}

/** A new conversation is open: its reply starts from its draft. */
export function openedReply() {
  attach.clearFiles();
  const key = draftKey(S.open && S.open.id);
  el.replyInput.value = (key && local.get(key)) || '';
  S.draftText = null;
  S.draftClientId = null;
  updateReplyHint();
  updateReplyLimit();
}

el.replyInput.addEventListener('input', () => {
  if (S && S.open) saveDraft(S.open.id, el.replyInput.value);
  updateReplyLimit();
});

/** The channel a reply goes out on: the one chosen, or the customer's last. */
export function replyChannel() {
  const c = S && S.open && S.open.conversation;
  return el.replyChannel.value || (c && c.last_channel) || '';
}

/** Says how to send for the reply's channel. */
export function updateReplyHint() {
  el.replyHint.textContent = replyChannel() === 'email'
    ? 'Enter for a new line · ' + (MAC ? 'Cmd' : 'Ctrl') + '+Enter to send'
    : 'Enter to send · Shift+Enter for a new line';
}

/** True if the agent may reply to (and resolve) the open conversation. */
export function canReply() {
  const o = S && S.open;
  if (!o || !o.loaded) return false;
  if (o.conversation && o.conversation.status === 'resolved') return false;
  return S.assigned.indexOf(o.id) >= 0;
}

const encoder = new TextEncoder();

/**
 * How many characters must go from the end of `text` for it to fit in
 * `max` bytes of UTF-8 (0 when it fits).
 */
function charsOver(text, max) {
  let bytes = encoder.encode(text).length;
  if (bytes <= max) return 0;
  const chars = Array.from(text);
  let cut = 0;
  while (bytes > max && cut < chars.length) {
    cut++;
    bytes -= encoder.encode(chars[chars.length - cut]).length;
  }
  return cut;
}

/** Characters the reply must lose to fit its channel's limits (bytes, SMS segments). */
function replyOver() {
  const channel = replyChannel();
  const text = el.replyInput.value;
  const bytes = maxBytes(channel);
  const segments = maxSegments(channel);
  return Math.max(
    bytes === null ? 0 : charsOver(text, bytes),
    segments === null ? 0 : charsOverSegments(text, segments),
  );
}

/** Says how much to cut when the reply is over its channel's limit. */
export function updateReplyLimit() {
  const over = replyOver();
  if (over > 0) {
    const channel = replyChannel() === 'sms' ? 'SMS' : replyChannel();
    el.replyLimit.textContent = 'Too long for ' + channel + ': cut ' + over.toLocaleString('en-US')
      + (over === 1 ? ' character' : ' characters') + ' to send.';
    el.replyLimit.hidden = false;
  } else {
    el.replyLimit.hidden = true;
    el.replyLimit.textContent = '';
  }
  el.replyInput.setAttribute('aria-invalid', over > 0 ? 'true' : 'false');
  updateReplyEnabled();
}

/** Enables or disables the reply form and Resolve. */
export function updateReplyEnabled() {
  if (!S) return;
  const ok = canReply();
  el.replyInput.disabled = !ok;
  el.replyButton.disabled = !ok || S.replying || replyOver() > 0;
  el.replyChannel.disabled = !ok;
  el.resolve.disabled = !ok;
  attach.renderAttach(ok && !S.replying);
}
attach.init(() => replyChannel() === 'email', () => updateReplyEnabled());

/** A reply by SMS to an opted-out number would be refused: say so before. */
export function updateReplyWarning() {
  const open = S && S.open;
  const cu = open && open.customer;
  const c = open && open.conversation;
  const ch = el.replyChannel.value || (c && c.last_channel);
  const outs = (cu && cu.sms_opt_outs) || [];
  if (ch === 'sms' && outs.length) {
    const o = outs[0];
    el.replyWarning.textContent = 'Customer opted out of SMS on ' + ymd(o.at_ms) + ' (' + o.detail + '): SMS replies are blocked.';
    el.replyWarning.hidden = false;
  } else {
    el.replyWarning.hidden = true;
    el.replyWarning.textContent = '';
  }
}
el.replyChannel.addEventListener('change', () => { updateReplyWarning(); updateReplyHint(); updateReplyLimit(); });

function sendReply() {
  if (!S || !S.open || S.replying || !canReply()) return;
  const text = el.replyInput.value;
  if (!text.trim()) { el.replyInput.focus(); return; }
  if (replyOver() > 0) { updateReplyLimit(); el.replyInput.focus(); return; }
  const open = S.open;
  // The same draft keeps its client id, so a retry after a lost answer is not sent twice.
  if (S.draftText !== text || !S.draftClientId) { S.draftClientId = randomId('r'); S.draftText = text; }
  const body = { text, client_id: S.draftClientId };
  if (el.replyChannel.value) body.channel = el.replyChannel.value;
  const files = attach.replyFiles();
  if (files.length) body.attachments = files;
  S.replying = true;
  agentStopped();
  updateReplyEnabled();
  el.replyButton.textContent = 'Sending…';
  const token = S.token;
  api('POST', '/api/conversations/' + enc(open.id) + '/messages', body).then((m) => {
    if (!current(token)) return;
    S.replying = false;
    el.replyButton.textContent = 'Send';
    // The agent may have switched conversations meanwhile: the draft sent is done.
    const key = draftKey(open.id);
    if (key && local.get(key) === text) local.set(key, null);
    if (S.open === open) {
      if (el.replyInput.value === text) el.replyInput.value = '';
      saveDraft(open.id, el.replyInput.value);
      updateReplyLimit();
      S.draftText = null; S.draftClientId = null;
      attach.clearFiles();
      putMessage(m, true);
      scrollTimeline(true);
    }
    noteMessage(m);
    updateReplyEnabled();
    if (S.open === open) el.replyInput.focus();
  }).catch((err) => {
    if (!current(token)) return;
    S.replying = false;
    el.replyButton.textContent = 'Send';
    updateReplyEnabled();
    report(err);
  });
}
el.replyForm.addEventListener('submit', (ev) => { ev.preventDefault(); sendReply(); });
el.replyInput.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || ev.isComposing || ev.keyCode === 229) return;
  const modified = ev.ctrlKey || ev.metaKey;
  // An email is written over several lines: only Ctrl/Cmd+Enter sends it.
  const sends = replyChannel() === 'email' ? modified : (modified || !ev.shiftKey);
  if (sends) {
    ev.preventDefault();
    sendReply();
  }
});

/**
 * Resolves the open conversation, with `wrapup` (`{wrapup_code, note}`,
 * see wrapup.js) when given; settles after the answer (rejects with the
 * error after reporting it).
 */
export function resolveOpen(wrapup) {
  if (!S || !S.open || !canReply()) return Promise.resolve();
  const open = S.open;
  const token = S.token;
  el.resolve.disabled = true;
  // The optional "check in on" date (followup.js).
  const at = followupAtMs();
  const body = at ? Object.assign({}, wrapup, { followup_at_ms: at }) : wrapup;
  return api('POST', '/api/conversations/' + enc(open.id) + '/resolve', body).then((c) => {
    if (!current(token)) return;
    if (c && S.open === open) { open.conversation = c; renderConversationFacts(); renderFollowup(c.followup || null); renderSurvey(c.survey || null); }
    resetFollowupDate();
    dropDraft(open.id);
    unassign(open.id);
    updateReplyEnabled();
    announce('Conversation resolved.');
  }).catch((err) => {
    if (!current(token)) return;
    updateReplyEnabled();
    report(err);
    throw null;
  });
}
el.resolve.addEventListener('click', () => { resolveOpen().catch(() => {}); });
