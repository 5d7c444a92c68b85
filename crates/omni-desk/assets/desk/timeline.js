// The open conversation's timeline: messages in order of seq, with sender,
// channel, time, delivery status, and an email's parts and attachments.

import { channelLabel, fullTime, hhmm, make } from '../common/common.js';
import { ApiError, defaultMessage, enc } from './api.js';
import { el } from './dom.js';
import { report } from './feedback.js';
import { S } from './state.js';

const timelineEls = new Map();

/** Empties the timeline. */
export function clearTimeline() {
  el.timeline.replaceChildren();
  timelineEls.clear();
}

function nearBottom() {
  const w = el.timelineWrap;
  return w.scrollHeight - w.scrollTop - w.clientHeight < 80;
}

/** Scrolls to the newest message when `force`. */
export function scrollTimeline(force) {
  if (force) el.timelineWrap.scrollTop = el.timelineWrap.scrollHeight;
}

/** Adds or updates a message of the open conversation (`live`: it just happened). */
export function putMessage(m, live) {
  if (!m || typeof m.id !== 'string' || !S.open) return;
  const stick = nearBottom();
  S.open.messages.set(m.id, m);
  let li = timelineEls.get(m.id);
  if (!li) {
    li = buildTimelineItem();
    timelineEls.set(m.id, li);
    fillTimelineItem(li, m);
    // insert by seq
    let before = null;
    const kids = el.timeline.children;
    for (let i = kids.length - 1; i >= 0; i--) {
      if (Number(kids[i].dataset.seq) <= (m.seq || 0)) { before = kids[i].nextSibling; break; }
      if (i === 0) before = kids[0];
    }
    el.timeline.insertBefore(li, before);
    if (live && (stick || m.direction === 'outbound')) scrollTimeline(true);
  } else {
    fillTimelineItem(li, m);
  }
}

function withTestId(node, testid) {
  node.setAttribute('data-testid', testid);
  return node;
}

function buildTimelineItem() {
  const li = withTestId(make('li', 'tm'), 'timeline-message');
  const meta = make('div', 'tm-meta');
  meta.append(make('span', 'tm-sender'), withTestId(make('span', 'badge'), 'channel-badge'), make('time', 'tm-time'));
  li.append(
    meta,
    withTestId(make('div', 'tm-subject'), 'message-subject'),
    withTestId(make('div', 'tm-text'), 'message-text'),
    withTestId(make('div', 'tm-extra'), 'message-email'),
    withTestId(make('div', 'tm-notice'), 'message-notice'),
    withTestId(make('div', 'delivery'), 'message-delivery'),
  );
  return li;
}

function fillTimelineItem(li, m) {
  const dir = m.direction === 'outbound' ? 'outbound' : 'inbound';
  li.dataset.direction = dir;
  li.dataset.messageId = m.id;
  li.dataset.seq = String(m.seq || 0);
  li.dataset.channel = m.channel || '';
  // An internal note: agents only, never sent to the customer (notes.js).
  li.dataset.internal = m.internal ? 'true' : 'false';
  const cu = S.open && S.open.customer;
  // Mail from an address that is not one of the customer's verified
  // identities (a stranger writing to the reply address, say) is named as
  // such: it is not the customer speaking.
  const from = dir === 'inbound' && m.email && m.email.from;
  const verified = !from || ((cu && cu.identities) || [])
    .some((i) => i.kind === 'email' && i.value.toLowerCase() === from.toLowerCase());
  li.dataset.sender = verified ? '' : 'unverified';
  li.querySelector('.tm-sender').textContent = dir === 'outbound'
    ? (m.agent_name || m.agent_id || 'Agent')
    : (verified ? ((cu && cu.display_name) || 'Customer') : from + ' (not verified)');
  if (m.internal) li.querySelector('.tm-sender').textContent = 'Internal note · ' + (m.agent_name || m.agent_id || 'Agent');
  // A bot's message: marked as the bot's, with the options it offered.
  li.dataset.bot = m.bot || '';
  if (m.bot) li.querySelector('.tm-sender').textContent = 'Bot · ' + m.bot;
  const text = m.bot && m.options && m.options.length
    ? m.text + '\n' + m.options.map((o) => '[' + o + ']').join(' ')
    : m.text;
  const b = li.querySelector('.badge');
  b.textContent = channelLabel(m.channel);
  b.dataset.channel = m.channel || 'unknown';
  const t = li.querySelector('.tm-time');
  t.textContent = hhmm(m.at_ms);
  if (m.at_ms) { t.dateTime = new Date(m.at_ms).toISOString(); t.title = fullTime(m.at_ms); }
  li.querySelector('.tm-text').textContent = text;
  fillEmail(li, m);
  const n = li.querySelector('.tm-notice');
  n.textContent = m.notice || '';
  n.hidden = !m.notice;
  const d = li.querySelector('.delivery');
  if (dir === 'outbound' && !m.internal && m.delivery && m.delivery !== 'received') {
    d.textContent = m.delivery + (m.delivery === 'failed' && m.error ? ': ' + m.error : '');
    d.dataset.delivery = m.delivery;
    d.hidden = false;
  } else {
    d.hidden = true;
  }
}

// Email parts: the new text is the bubble; sanitized HTML (in a sandboxed
// frame: no scripts, no same-origin), quoted text and signature collapse.
function fillEmail(li, m) {
  const e = m.email;
  const subject = li.querySelector('.tm-subject');
  const box = li.querySelector('.tm-extra');
  subject.textContent = e && e.subject ? e.subject : '';
  subject.hidden = !(e && e.subject);
  box.replaceChildren();
  box.hidden = !e;
  if (!e) return;
  const fold = (label, content, testid) => {
    const det = withTestId(make('details'), testid);
    det.append(make('summary', null, label), content);
    box.appendChild(det);
  };
  if (e.html) {
    const frame = document.createElement('iframe');
    frame.className = 'tm-html';
    frame.setAttribute('sandbox', '');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = 'Formatted email';
    frame.srcdoc = e.html;
    fold('Formatted email', frame, 'email-html');
  }
  if (e.quoted) fold('Quoted text', make('pre', null, e.quoted), 'email-quoted');
  if (e.signature) fold('Signature', make('pre', null, e.signature), 'email-signature');
  if (e.attachments && e.attachments.length) {
    const ul = make('ul', 'tm-attachments');
    e.attachments.forEach((a) => {
      const item = withTestId(make('li'), 'attachment');
      const label = a.name + ' (' + (a.content_type || 'file') + ', ' + sizeLabel(a.size) + ')';
      if (a.stored) {
        const btn = make('button', 'btn', 'Download ' + label);
        btn.type = 'button';
        btn.addEventListener('click', () => download(m, a));
        item.appendChild(btn);
      } else {
        item.appendChild(make('span', null, label + ': too large, not kept'));
      }
      ul.appendChild(item);
    });
    box.appendChild(ul);
  }
}

function sizeLabel(n) {
  if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MB';
  if (n >= 1024) return Math.round(n / 1024) + ' KB';
  return n + ' B';
}

// The download route needs the bearer token, so fetch it and hand the
// browser a blob with the file's name.
function download(m, a) {
  const token = S && S.token;
  fetch('/api/conversations/' + enc(m.conversation_id) + '/messages/' + m.seq + '/attachments/' + a.index, {
    headers: { 'Authorization': 'Bearer ' + token }, cache: 'no-store',
  }).then((res) => {
    if (!res.ok) {
      return res.json().then(
        (d) => { throw new ApiError(res.status, d && d.error, (d && d.message) || defaultMessage(res.status)); },
        () => { throw new ApiError(res.status, 'http_' + res.status, defaultMessage(res.status)); });
    }
    return res.blob();
  }).then((blob) => {
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = a.name || 'attachment';
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }).catch(report);
}
