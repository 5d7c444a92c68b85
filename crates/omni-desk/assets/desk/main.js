// The agent desk page: sign-in and sign-out, applying the agent's state,
// and boot. Each screen or concern is its own module:
//
// | module | what |
// |---|---|
// | dom.js | the elements, keyed-list and badge helpers |
// | state.js | the session state `S` |
// | api.js | JSON calls with the CSRF token (the session is a cookie), ApiError |
// | account.js | the account's name and role, the admin's account list |
// | feedback.js | error bar, notices, screen-reader announcements |
// | header.js | name, presence, load |
// | offers.js | the offers panel, its countdown and keyboard shortcuts |
// | alert.js | a new offer's tone and desktop notification |
// | conversations.js | "My conversations" and summaries |
// | view.js | the open conversation's head and loading |
// | timeline.js | the open conversation's messages |
// | profile.js | the customer profile and its forms |
// | reply.js | the reply form, drafts, limits and Resolve |
// | attach.js | files attached to an email reply |
// | sms.js | SMS segment counting, as the SMS adapter counts |
// | events.js | the live event WebSocket |
// | canned.js | canned responses: the `/` and Ctrl+/ picker, placeholders, managing them |
// | notes.js | internal notes, and transfers with a note |
// | wrapup.js | Resolve asks for the queue's wrap-up code and a note |
// | presence.js | away reasons, time in state, the desk's settings |
// | typing.js | typing both ways, and reporting the customer's messages read |
// | cx.js | intent, language and the sentiment trend; the list's marker |
// | followup.js | the "check in on" date at Resolve; the conversation's follow-up |
// | survey.js | the conversation's survey: sent, answered (score and comment) |

import { storage } from '../common/common.js';
import { ApiError, api, whenSessionEnds, whenUnavailable } from './api.js';
import { el } from './dom.js';
import { errors, hideNotice, report } from './feedback.js';
import { S, freshState, setSession } from './state.js';
import * as header from './header.js';
import * as offers from './offers.js';
import { clearConversations, onUnassigned, renderConversations } from './conversations.js';
import { closeView, loadOpen } from './view.js';
import { updateReplyEnabled } from './reply.js';
import * as events from './events.js';
import { showAccount } from './account.js';
import './profile.js';
import * as presence from './presence.js';
import './canned.js';
import './notes.js';
import './wrapup.js';

// The CSRF token marks the session in this tab; the session itself is an
// HttpOnly cookie the page never sees.
const K_TOKEN = 'omni.desk.csrf';
const K_CHANNELS = 'omni.desk.channels';
const session = storage('session');

/** Applies the agent's state (from sign-in, /api/me, an event or an action's answer). */
function applyState(agent) {
  if (!S || !agent || typeof agent !== 'object') return;
  S.agent = agent;
  S.offers = new Map();
  (agent.offers || []).forEach((o) => { if (o && o.offer_id) S.offers.set(o.offer_id, o); });
  const before = S.assigned;
  S.assigned = Array.isArray(agent.assigned) ? agent.assigned.slice() : [];
  before.forEach((id) => {
    if (S.assigned.indexOf(id) < 0) onUnassigned(id);
  });
  // An open conversation that becomes the agent's again (a resolved one
  // reopened by the customer) missed the messages sent while it was not:
  // reload it.
  if (S.open && before.indexOf(S.open.id) < 0 && S.assigned.indexOf(S.open.id) >= 0) loadOpen();
  header.renderHeader();
  offers.renderOffers();
  renderConversations();
  updateReplyEnabled();
}
header.init(applyState);
offers.init(applyState);
events.init(applyState);
presence.init(applyState);

function showSignin() {
  el.app.hidden = true;
  el.signin.hidden = false;
  el.signinButton.disabled = false;
  document.title = 'Omniroute desk';
  el.agentId.focus();
}
function showApp() {
  el.signin.hidden = true;
  el.app.hidden = false;
}
function teardown() {
  events.closeEvents();
  showAccount(null);
  offers.clearOffers();
  setSession(null);
  clearConversations();
  closeView();
  hideNotice();
}
/** The reply channels sign-in named, kept for reloads. */
function savedChannels() {
  try { return JSON.parse(session.get(K_CHANNELS)); } catch { return null; }
}

function sessionEnded() {
  session.set(K_TOKEN, null);
  session.set(K_CHANNELS, null);
  teardown();
  showSignin();
  errors.show('Your session has ended. Please sign in again.');
}
whenSessionEnds(sessionEnded);
// A service down shows in the error bar until a call succeeds again.
whenUnavailable(
  (message) => errors.show(message, 'unavailable'),
  () => { if (errors.tag() === 'unavailable') errors.clear(); },
);

el.signinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = el.agentId.value.trim();
  const password = el.password.value;
  if (!id) { errors.show('Enter your account id.'); el.agentId.focus(); return; }
  if (!password) { errors.show('Enter your password.'); el.password.focus(); return; }
  el.signinButton.disabled = true;
  const prev = S;
  setSession(freshState(null));
  api('POST', '/api/session', { user: id, password }).then((data) => {
    if (!data || typeof data.csrf_token !== 'string') throw new ApiError(0, 'bad_response', 'The server sent an unexpected answer.');
    errors.clear();
    el.password.value = '';
    setSession(freshState(data.csrf_token, data.channels));
    S.isAgent = !!data.agent;
    session.set(K_TOKEN, data.csrf_token);
    session.set(K_CHANNELS, Array.isArray(data.channels) ? JSON.stringify(data.channels) : null);
    showApp();
    showAccount(Object.assign({ agent: !!data.agent }, data.account));
    applyState(data.agent);
    events.connectEvents();
  }).catch((err) => {
    setSession(prev);
    el.signinButton.disabled = false;
    el.password.value = '';
    report(err);
    if (err && err.code === 'bad_credentials') { el.password.focus(); return; }
    el.agentId.focus();
    el.agentId.select();
  });
});

el.signout.addEventListener('click', () => {
  el.signout.disabled = true;
  const done = () => {
    el.signout.disabled = false;
    session.set(K_TOKEN, null);
    session.set(K_CHANNELS, null);
    teardown();
    errors.clear();
    showSignin();
  };
  events.closeEvents();
  api('DELETE', '/api/session').then(done, (err) => {
    if (err && err.handled) { el.signout.disabled = false; return; }
    done();
    if (err && err.status !== 401) errors.show('Signed out here, but the server could not be told: ' + err.message);
  });
});

// ---- boot ----
const saved = session.get(K_TOKEN);
if (saved) {
  setSession(freshState(saved, savedChannels()));
  showApp();
  events.showConnecting();
  api('GET', '/api/me').then((me) => {
    if (!S || S.token !== saved) return;
    const account = me && me.account;
    S.isAgent = !account || account.agent !== false;
    showAccount(account || null);
    if (S.isAgent) applyState(me);
    events.connectEvents();
  }).catch((err) => {
    if (err && err.handled) return;
    if (!S || S.token !== saved) return;
    // Server unreachable: keep the session and keep trying through the event socket.
    report(err);
    events.connectEvents();
  });
} else {
  showSignin();
}
