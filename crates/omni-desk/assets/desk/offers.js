// The offers panel: one card per offer with its queue, channel, customer
// preview, time waited and countdown, and Accept / Decline; the keyboard
// shortcuts Alt+Shift+A and Alt+Shift+D settle the first offer (the one
// expiring soonest); a new offer alerts the agent (alert.js).

import { channelLabel, make } from '../common/common.js';
import { api, enc } from './api.js';
import { el, reconcile } from './dom.js';
import { notify, report } from './feedback.js';
import { S, current } from './state.js';
import { loadSummary, summaryOf } from './conversations.js';
import { openConversation, shouldAutoOpen } from './view.js';
import { alertOffer, renderAlertControls } from './alert.js';

const offerEls = new Map();
let tickTimer = null;
let applyState = () => {};

/** Sets what applies the agent state the server answers a settled offer with. */
export function init(apply) { applyState = apply; }

/** Forgets every card (sign-out). */
export function clearOffers() {
  if (tickTimer) { clearInterval(tickTimer); tickTimer = null; }
  el.offers.replaceChildren();
  offerEls.clear();
}

/** Redraws the panel from `S.offers`. */
export function renderOffers() {
  const list = Array.from(S.offers.values());
  list.sort((a, b) => (a.expires_at_ms || 0) - (b.expires_at_ms || 0));
  const keys = list.map((o) => o.offer_id);
  reconcile(el.offers, offerEls, keys, (key) => buildOffer(S.offers.get(key)));
  list.forEach((o, i) => {
    const li = offerEls.get(o.offer_id);
    fillOffer(li, o);
    markFirst(li, i === 0);
    loadSummary(o.conversation_id);
  });
  renderAlertControls();
  el.offersEmpty.hidden = list.length > 0;
  el.offerCount.textContent = String(list.length);
  document.title = (list.length ? '(' + list.length + ') ' : '') + 'Omniroute desk';
  if (list.length && !tickTimer) tickTimer = setInterval(tick, 1000);
  if (!list.length && tickTimer) { clearInterval(tickTimer); tickTimer = null; }
  tick();
}

/** Stops highlighting a new offer. */
export function unhighlight(offerId) {
  const li = offerEls.get(offerId);
  if (li) li.classList.remove('fresh');
}

function buildOffer() {
  const li = make('li', 'offer');
  li.setAttribute('data-testid', 'offer');
  const head = make('div', 'offer-head');
  const queue = make('span', 'offer-queue');
  queue.setAttribute('data-testid', 'offer-queue');
  const chan = make('span', 'badge');
  chan.setAttribute('data-testid', 'offer-channel');
  const countdown = make('span', 'countdown');
  countdown.setAttribute('data-testid', 'offer-countdown');
  countdown.setAttribute('role', 'timer');
  head.append(queue, chan, countdown);
  const preview = make('div', 'offer-preview');
  preview.setAttribute('data-testid', 'offer-preview');
  const customer = make('div', 'offer-customer');
  customer.setAttribute('data-testid', 'offer-customer');
  const waited = make('span', 'offer-waited');
  waited.setAttribute('data-testid', 'offer-waited');
  customer.append(make('span', 'offer-name'), waited);
  const actions = make('div', 'offer-actions');
  const accept = make('button', 'btn primary', 'Accept');
  accept.type = 'button';
  accept.setAttribute('data-testid', 'accept-button');
  const decline = make('button', 'btn', 'Decline');
  decline.type = 'button';
  decline.setAttribute('data-testid', 'decline-button');
  actions.append(accept, decline);
  li.append(head, customer, preview, actions);
  accept.addEventListener('click', () => settleOffer(li.dataset.offerId, 'accept'));
  decline.addEventListener('click', () => settleOffer(li.dataset.offerId, 'decline'));
  return li;
}

function fillOffer(li, o) {
  if (!li || !o) return;
  li.dataset.offerId = o.offer_id;
  li.dataset.conversationId = o.conversation_id;
  li.dataset.expiresAt = String(o.expires_at_ms || 0);
  li.classList.toggle('fresh', S.freshOffers.has(o.offer_id));
  li.querySelector('.offer-queue').textContent = o.queue || 'queue';
  const chan = li.querySelector('.badge');
  chan.textContent = channelLabel(o.channel);
  chan.dataset.channel = o.channel || 'unknown';
  li.dataset.queuedAt = String(o.queued_at_ms || 0);
  const s = summaryOf(o.conversation_id);
  li.querySelector('.offer-name').textContent = s && !s.loading ? (s.name || 'Customer') : '';
  const preview = li.querySelector('.offer-preview');
  if (s && !s.loading && s.last) {
    preview.textContent = s.last;
    preview.title = preview.textContent;
    preview.hidden = false;
  } else {
    preview.hidden = true;
  }
  const who = s && s.name ? ' from ' + s.name : '';
  li.querySelector('[data-testid="accept-button"]').setAttribute('aria-label', 'Accept ' + (o.queue || '') + ' ' + channelLabel(o.channel) + who);
  li.querySelector('[data-testid="decline-button"]').setAttribute('aria-label', 'Decline ' + (o.queue || '') + ' ' + channelLabel(o.channel) + who);
  const busy = S.acting.has(o.offer_id);
  li.querySelectorAll('button').forEach((b) => { b.disabled = busy; });
}

/** Redraws the offers for a conversation (its summary changed). */
export function refreshOffersFor(conversationId) {
  S.offers.forEach((o) => {
    if (o.conversation_id === conversationId) fillOffer(offerEls.get(o.offer_id), o);
  });
}

/** The first card answers the keyboard shortcuts, and says so. */
function markFirst(li, first) {
  if (!li) return;
  const accept = li.querySelector('[data-testid="accept-button"]');
  const decline = li.querySelector('[data-testid="decline-button"]');
  if (first) {
    accept.setAttribute('aria-keyshortcuts', 'Alt+Shift+A');
    decline.setAttribute('aria-keyshortcuts', 'Alt+Shift+D');
    accept.title = 'Accept (Alt+Shift+A)';
    decline.title = 'Decline (Alt+Shift+D)';
  } else {
    accept.removeAttribute('aria-keyshortcuts');
    decline.removeAttribute('aria-keyshortcuts');
    accept.title = ''; decline.title = '';
  }
}

/** "42s" or "3m 05s" for a wait of `ms`. */
export function waitedText(ms) {
  const secs = Math.max(0, Math.floor(ms / 1000));
  if (secs < 60) return secs + 's';
  const m = Math.floor(secs / 60);
  if (m < 60) return m + 'm ' + String(secs % 60).padStart(2, '0') + 's';
  return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
}

/**
 * A new offer came: the tone at once, the notification once the
 * customer's name is known (or after a moment without it).
 */
export function offerArrived(o) {
  let tries = 0;
  const token = S && S.token;
  const ready = () => {
    if (!current(token) || !S.offers.has(o.offer_id)) return;
    const s = summaryOf(o.conversation_id);
    if (s && !s.loading) { alertNow(o, s.name); return; }
    if (++tries >= 15) { alertNow(o, ''); return; }
    setTimeout(ready, 100);
  };
  ready();
}
function alertNow(o, who) {
  alertOffer(o, who, o.queued_at_ms ? waitedText(Date.now() - o.queued_at_ms) : '');
}

document.addEventListener('keydown', (ev) => {
  if (!S || !ev.altKey || !ev.shiftKey || ev.ctrlKey || ev.metaKey) return;
  const action = ev.code === 'KeyA' ? 'accept' : ev.code === 'KeyD' ? 'decline' : null;
  if (!action) return;
  const first = el.offers.firstElementChild;
  if (!first || !first.dataset.offerId) return;
  ev.preventDefault();
  settleOffer(first.dataset.offerId, action);
});

function tick() {
  const now = Date.now();
  offerEls.forEach((li) => {
    const since = Number(li.dataset.queuedAt) || 0;
    const waited = li.querySelector('.offer-waited');
    const wText = since ? 'waiting ' + waitedText(now - since) : '';
    if (waited.textContent !== wText) waited.textContent = wText;
    const exp = Number(li.dataset.expiresAt) || 0;
    const left = Math.ceil((exp - now) / 1000);
    const cd = li.querySelector('.countdown');
    const text = left > 0 ? left + 's' : 'expiring…';
    if (cd.textContent !== text) cd.textContent = text;
    cd.classList.toggle('urgent', left <= 5);
    cd.setAttribute('aria-label', left > 0 ? 'expires in ' + left + ' seconds' : 'expiring');
  });
}

function settleOffer(offerId, action) {
  if (!S || !offerId || !S.offers.has(offerId) || S.acting.has(offerId)) return;
  const offer = S.offers.get(offerId);
  S.acting.add(offerId);
  fillOffer(offerEls.get(offerId), offer);
  const token = S.token;
  api('POST', '/api/offers/' + enc(offerId) + '/' + action).then((agent) => {
    if (!current(token)) return;
    S.freshOffers.delete(offerId);
    applyState(agent);
    if (action === 'accept' && S.assigned.indexOf(offer.conversation_id) >= 0 && shouldAutoOpen()) {
      openConversation(offer.conversation_id, false);
    }
  }).catch((err) => {
    if (!current(token)) return;
    if (err.status === 409 || err.status === 404) {
      // Taken, expired or gone: it cannot be settled any more. That is no
      // error of the agent's: say what happened, in a notice that goes away.
      S.offers.delete(offerId);
      S.freshOffers.delete(offerId);
      renderOffers();
      settledElsewhere(offer, action, err.code, token);
    } else {
      S.acting.delete(offerId);
      fillOffer(offerEls.get(offerId), offer);
      report(err);
    }
  });
}

/**
 * An offer this page could not settle: the agent's state says whether the
 * agent took it in another window (then its conversation is theirs).
 */
function settledElsewhere(offer, action, code, token) {
  const fallback = () => {
    if (action === 'decline') notify('This offer is no longer open.');
    else if (code === 'offer_taken') notify('This offer was already accepted.');
    else notify('This offer is no longer open: it timed out or was taken back.');
  };
  api('GET', '/api/me').then((agent) => {
    if (!current(token)) return;
    applyState(agent);
    if (S.assigned.indexOf(offer.conversation_id) >= 0) {
      notify(action === 'accept'
        ? 'You already accepted this offer in another window.'
        : 'This conversation was already accepted in another window.');
      if (action === 'accept' && shouldAutoOpen()) openConversation(offer.conversation_id, false);
    } else {
      fallback();
    }
  }, (err) => {
    if (err && err.handled) return;
    fallback();
  });
}
