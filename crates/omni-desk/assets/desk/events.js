// The live event WebSocket (`/api/events`): connects with the session's
// cookie (never a token in the URL), reconnects with backoff (checking the session when an upgrade is
// refused), and applies each event to the page.

import { backoff, channelLabel, setStatus, wsUrl } from '../common/common.js';
import { api } from './api.js';
import { el } from './dom.js';
import { announce, notify } from './feedback.js';
import { S } from './state.js';
import { noteConversation, noteMessage, renderConversations, summaryOf, unassign } from './conversations.js';
import { offerArrived, renderOffers, unhighlight } from './offers.js';
import { putMessage } from './timeline.js';
import { loadOpen, openConversation, renderViewHead, shouldAutoOpen } from './view.js';
import { updateReplyEnabled } from './reply.js';
import { customerSent, onCustomerTyping, reportRead } from './typing.js';
import { renderFollowup } from './followup.js';
import { renderSurvey } from './survey.js';

let ws = null;
let attempt = 0;
let reconnectTimer = null;
let applyState = () => {};

/** Sets what applies an agent state event. */
export function init(apply) { applyState = apply; }

function show(state, text) { setStatus(el.status, state, text); }

/** Closes the socket and stops reconnecting. */
export function closeEvents() {
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  attempt = 0;
  if (ws) { const s = ws; ws = null; try { s.close(1000, 'bye'); } catch { /* already closed */ } }
  show('idle', 'not connected');
}

/** Sends `frame` to the desk on the event socket; false when not connected. */
export function sendFrame(frame) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  try { ws.send(JSON.stringify(frame)); return true; } catch { return false; }
}

/** Shows that the page is connecting (before the first call answers). */
export function showConnecting() { show('connecting', 'connecting…'); }

/** Connects (or reconnects) the event socket of the current session. */
export function connectEvents() {
  if (!S || !S.token || S.isAgent === false) return;
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  show(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting…' : 'reconnecting…');
  let sock;
  // The session cookie goes with the handshake; no token in the URL.
  try { sock = new WebSocket(wsUrl('/api/events')); } catch { scheduleReconnect(false); return; }
  ws = sock;
  let opened = false;
  sock.onopen = () => {
    if (ws !== sock) return;
    opened = true;
    attempt = 0;
    show('connected', 'connected');
    el.status.title = '';
    // Catch up on anything missed while disconnected.
    if (S && S.open) loadOpen();
  };
  sock.onmessage = (ev) => {
    if (ws !== sock || !S) return;
    let f;
    try { f = JSON.parse(ev.data); } catch { return; }
    if (f && typeof f === 'object') onEvent(f);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    scheduleReconnect(!opened);
  };
  sock.onerror = () => { /* a close event follows */ };
}

function scheduleReconnect(neverOpened) {
  if (!S || !S.token || reconnectTimer) return;
  const delay = backoff(attempt);
  attempt++;
  show('reconnecting', 'reconnecting…');
  el.status.title = 'Next attempt in ' + Math.round(delay / 1000) + 's';
  const token = S.token;
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    if (!S || S.token !== token) return;
    if (neverOpened) {
      // The upgrade may have been refused because the session is gone.
      api('GET', '/api/me').then((agent) => {
        if (!S || S.token !== token) return;
        applyState(agent);
        connectEvents();
      }, (err) => {
        if (err && err.handled) return;
        if (!S || S.token !== token) return;
        connectEvents();
      });
    } else {
      connectEvents();
    }
  }, delay);
}

window.addEventListener('online', () => {
  if (S && S.token && !ws && reconnectTimer) {
    clearTimeout(reconnectTimer); reconnectTimer = null;
    connectEvents();
  }
});

function onEvent(f) {
  switch (f.type) {
    case 'state':
      applyState(f.agent);
      break;
    case 'offer': {
      const o = f.offer;
      if (!o || !o.offer_id) break;
      const isNew = !S.offers.has(o.offer_id);
      S.offers.set(o.offer_id, o);
      if (isNew) {
        S.freshOffers.add(o.offer_id);
        setTimeout(() => {
          if (!S) return;
          S.freshOffers.delete(o.offer_id);
          unhighlight(o.offer_id);
        }, 4000);
        announce('New offer: ' + (o.queue || '') + ' ' + channelLabel(o.channel) + '.');
      }
      renderOffers();
      if (isNew) offerArrived(o);
      break;
    }
    case 'offer_rescinded': {
      // Offers this page accepted or declined itself need no notice.
      const ours = S.acting.has(f.offer_id);
      S.offers.delete(f.offer_id);
      S.freshOffers.delete(f.offer_id);
      renderOffers();
      if (!ours) {
        const reason = f.reason ? String(f.reason).replace(/_/g, ' ') : '';
        notify('offer withdrawn' + (reason ? ' (' + reason + ')' : ''));
      }
      break;
    }
    case 'assigned': {
      const id = f.conversation_id;
      if (!id) break;
      const wasMine = S.assigned.indexOf(id) >= 0;
      if (!wasMine) S.assigned.push(id);
      // an offer for it is settled
      S.offers.forEach((of, key) => { if (of.conversation_id === id) S.offers.delete(key); });
      renderOffers();
      renderConversations();
      if (shouldAutoOpen()) {
        openConversation(id, false);
      } else {
        // Already open (resolved, then reopened by the customer): it missed
        // the messages sent while it was not the agent's.
        if (!wasMine && S.open && S.open.id === id) loadOpen();
        updateReplyEnabled();
      }
      break;
    }
    case 'released':
      unassign(f.conversation_id);
      updateReplyEnabled();
      break;
    case 'message': {
      const m = f.message;
      if (!m || !m.conversation_id) break;
      if (m.direction === 'inbound') customerSent(m.conversation_id);
      if (S.open && S.open.id === m.conversation_id) {
        putMessage(m, true);
        if (m.direction === 'inbound') reportRead();
      } else if (S.assigned.indexOf(m.conversation_id) >= 0 && m.direction === 'inbound') {
        S.unread.add(m.conversation_id);
        announce('New message from ' + ((summaryOf(m.conversation_id) || {}).name || 'a customer') + '.');
      }
      noteMessage(m);
      break;
    }
    case 'conversation': {
      const c = f.conversation;
      if (!c || !c.id) break;
      if (S.open && S.open.id === c.id) {
        S.open.conversation = c;
        renderViewHead();
        updateReplyEnabled();
      }
      noteConversation(c);
      break;
    }
    case 'typing':
      onCustomerTyping(f);
      break;
    case 'followup':
      // A follow-up of the agent's changed (followup.js): scheduled, sent,
      // cancelled by the customer writing first, replied to.
      if (S.open && S.open.id === f.conversation_id) renderFollowup(f.followup || null);
      break;
    case 'survey':
      // The survey of a conversation the agent handled changed (survey.js):
      // sent, answered, closed.
      if (S.open && S.open.id === f.conversation_id) renderSurvey(f.survey || null);
      break;
    default:
      break;
  }
}
