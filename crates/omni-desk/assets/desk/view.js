// The open conversation: its head (customer, identities, status, queue,
// channel, reply address), notices, and loading it. The timeline, the
// profile and the reply form have their own modules.

import { channelLabel, make } from '../common/common.js';
import { api, enc } from './api.js';
import { badge, el } from './dom.js';
import { report } from './feedback.js';
import { S, channelsForKind, current, enabled } from './state.js';
import { refreshConvItem, setSummaryFrom } from './conversations.js';
import { clearTimeline, putMessage, scrollTimeline } from './timeline.js';
import { resetProfile } from './profile.js';
import { openedReply, updateReplyEnabled, updateReplyHint, updateReplyLimit, updateReplyWarning } from './reply.js';
import { agentStopped, renderTyping, reportRead } from './typing.js';
import { CX_KEYS, renderCx } from './cx.js';
import { renderFollowup } from './followup.js';
import { renderSurvey } from './survey.js';

const KIND_LABEL = { chat_visitor: 'Web chat', email: 'Email', phone: 'Phone', sms_sender: 'SMS sender' };
let openSeq = 0;

function maskIdentity(kind, value) {
  // A chat visitor id is the visitor's credential: show only enough to tell visitors apart.
  if (kind === 'chat_visitor' && typeof value === 'string' && value.length > 12) return value.slice(0, 10) + '…';
  return value;
}

/** Shows the placeholder instead of a conversation. */
export function closeView() {
  el.view.hidden = true;
  el.view.removeAttribute('data-conversation-id');
  el.placeholder.hidden = false;
  clearTimeline();
}

/** Sets (or clears, with '') the notice under the head. */
export function setConvNotice(text) {
  el.convNotice.textContent = text || '';
  el.convNotice.hidden = !text;
}

/** True unless the agent has a conversation of theirs open. */
export function shouldAutoOpen() {
  if (!S.open) return true;
  return S.assigned.indexOf(S.open.id) < 0;
}

/** Opens conversation `id` (`byUser`: the agent clicked it, so focus the reply). */
export function openConversation(id, byUser) {
  if (!S) return;
  const same = S.open && S.open.id === id;
  if (!same) {
    agentStopped();
    S.open = { id, seq: ++openSeq, conversation: null, customer: null, messages: new Map(), loaded: false };
    clearTimeline();
    el.view.dataset.conversationId = id;
    el.customerName.textContent = 'Loading…';
    el.identities.replaceChildren();
    el.convStatus.textContent = '';
    el.convStatus.removeAttribute('data-status');
    el.convQueue.textContent = '';
    el.convChannel.textContent = '';
    renderCx(null);
    renderFollowup(null);
    renderSurvey(null);
    el.replyChannelWrap.hidden = true;
    el.replyChannel.replaceChildren();
    resetProfile();
    setConvNotice('');
    openedReply();
    renderTyping();
  }
  el.placeholder.hidden = true;
  el.view.hidden = false;
  S.unread.delete(id);
  S.assigned.forEach(refreshConvItem);
  updateReplyEnabled();
  if (byUser) el.replyInput.focus();
  loadOpen();
}

/** (Re)loads the open conversation and merges its messages into the timeline. */
export function loadOpen() {
  const open = S.open;
  if (!open) return;
  const seq = open.seq;
  const token = S.token;
  el.timelineWrap.setAttribute('aria-busy', 'true');
  api('GET', '/api/conversations/' + enc(open.id)).then((data) => {
    if (!current(token) || !S.open || S.open.seq !== seq) return;
    el.timelineWrap.removeAttribute('aria-busy');
    data = data || {};
    open.loaded = true;
    open.customer = data.customer || null;
    if (data.conversation) open.conversation = data.conversation;
    renderViewHead();
    renderFollowup(data.followup || null);
    renderSurvey(data.survey || null);
    (Array.isArray(data.messages) ? data.messages : []).forEach((m) => putMessage(m, false));
    scrollTimeline(true);
    setSummaryFrom(open.id, data);
    updateReplyEnabled();
    renderTyping();
    reportRead();
  }).catch((err) => {
    if (!current(token) || !S.open || S.open.seq !== seq) return;
    el.timelineWrap.removeAttribute('aria-busy');
    if (!open.loaded) {
      el.customerName.textContent = 'Conversation ' + open.id;
      setConvNotice('This conversation could not be loaded. Select it again to retry.');
    }
    updateReplyEnabled();
    report(err);
  });
}

/** Redraws the head and the reply channel menu from the open conversation. */
export function renderViewHead() {
  const open = S.open;
  if (!open) return;
  const cu = open.customer;
  el.customerName.textContent = (cu && cu.display_name) || 'Customer';
  el.identities.replaceChildren();
  const channels = [];
  ((cu && cu.identities) || []).forEach((idn) => {
    const li = make('li');
    li.setAttribute('data-testid', 'customer-identity');
    li.dataset.kind = idn.kind;
    li.appendChild(make('span', 'kind', (KIND_LABEL[idn.kind] || idn.kind) + ':'));
    li.appendChild(make('span', 'value', maskIdentity(idn.kind, idn.value)));
    // e.g. an SMS sender the phone library could not read: kept as given.
    if (idn.note) {
      const note = make('span', 'muted identity-note', ' (' + idn.note + ')');
      note.setAttribute('data-testid', 'identity-note');
      li.appendChild(note);
    }
    el.identities.appendChild(li);
    channelsForKind(idn.kind).forEach((ch) => {
      if (channels.indexOf(ch) < 0) channels.push(ch);
    });
  });
  renderConversationFacts();
  // Reply channel: the default is the channel the customer used last.
  const c = open.conversation;
  const chosen = el.replyChannel.value;
  el.replyChannel.replaceChildren();
  const auto = make('option', null, 'Same channel' + (c && c.last_channel ? ' (' + channelLabel(c.last_channel) + ')' : ''));
  auto.value = '';
  el.replyChannel.appendChild(auto);
  channels.forEach((ch) => {
    if (c && ch === c.last_channel) return;
    const o = make('option', null, channelLabel(ch));
    o.value = ch;
    el.replyChannel.appendChild(o);
  });
  el.replyChannel.value = chosen && channels.indexOf(chosen) >= 0 ? chosen : '';
  el.replyChannelWrap.hidden = el.replyChannel.options.length < 2;
  updateReplyWarning();
  updateReplyHint();
  updateReplyLimit();
}

/** Redraws status, queue, channel and reply address. */
export function renderConversationFacts() {
  const c = S.open && S.open.conversation;
  if (!c) return;
  el.convStatus.textContent = c.status || '';
  el.convStatus.dataset.status = c.status || '';
  el.convQueue.textContent = c.queue || '—';
  el.convChannel.replaceChildren();
  if (c.last_channel) el.convChannel.appendChild(badge(c.last_channel));
  // Email to this address threads into the conversation (when email is on).
  const address = enabled('email') ? c.reply_address : '';
  el.replyAddress.textContent = address || '';
  el.replyAddressWrap.hidden = !address;
  if (c.status === 'resolved') setConvNotice('This conversation is resolved.');
  else if (S.assigned.indexOf(c.id) >= 0) setConvNotice('');
  renderCx(c);
  renderHandoff(c);
}

// A bot's handoff at the top: its summary, the intent and reason, and the
// attributes collected, so the customer need not tell the story again.
function renderHandoff(c) {
  const box = document.getElementById('bot-handoff');
  if (!box) return;
  const h = c.handoff;
  // Enrichment's facts have their own place in the head (cx.js).
  const attrs = {};
  Object.keys(c.attributes || {}).forEach((k) => { if (CX_KEYS.indexOf(k) < 0) attrs[k] = c.attributes[k]; });
  box.replaceChildren();
  box.hidden = !h && Object.keys(attrs).length === 0;
  if (box.hidden) return;
  if (h) {
    const title = make('p', 'handoff-title');
    title.textContent = 'Handed over by bot ' + h.bot;
    const summary = make('p', 'handoff-summary');
    summary.dataset.testid = 'handoff-summary';
    summary.textContent = h.summary || '(no summary)';
    const why = make('p', 'handoff-why');
    why.dataset.testid = 'handoff-reason';
    why.textContent = (h.intent ? 'Intent: ' + h.intent + ' · ' : '') + 'Reason: ' + h.reason
      + ' · ' + h.turns + (h.turns === 1 ? ' turn' : ' turns');
    box.append(title, summary, why);
  }
  const keys = Object.keys(attrs).sort();
  if (keys.length) {
    const dl = make('dl', 'handoff-attributes');
    dl.dataset.testid = 'handoff-attributes';
    for (const k of keys) {
      const dt = make('dt');
      dt.textContent = k;
      const dd = make('dd');
      dd.dataset.attribute = k;
      dd.textContent = attrs[k];
      dl.append(dt, dd);
    }
    box.append(dl);
  }
}
