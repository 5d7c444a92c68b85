// The supervisor's wall. Modules:
// - main.js: start (who is signed in, the CSRF token), the live stream
//   (`/api/wall/events`, server-sent events) and its connection state.
// - board.js: the queue, contact and agent tables and the day's charts.
// - chart.js: the small SVG charts.
// - filter.js: the waiting contacts' filter by intent, sentiment and language.
// - actions.js: read, why, move and presence, in the detail panel.

import { byId, errorBar, setStatus } from '/assets/common/common.js';
import { board } from './board.js';
import { actions, call, setCsrf } from './actions.js';

const errors = errorBar();
const status = byId('status');
const announce = (text) => { byId('announcer').textContent = text; };

let view = null;
const act = actions({ last: () => view && view.last(), errors, announce });
view = board(act);
setInterval(() => view.tick(), 1000);

function connect() {
  const source = new EventSource('/api/wall/events');
  source.addEventListener('open', () => setStatus(status, 'connected', 'live'));
  source.addEventListener('wall', (e) => {
    setStatus(status, 'connected', 'live');
    view.render(JSON.parse(e.data));
  });
  source.addEventListener('day', (e) => view.renderDay(JSON.parse(e.data)));
  source.addEventListener('down', () => setStatus(status, 'reconnecting', 'reconnecting: router unavailable'));
  source.addEventListener('signed_out', () => {
    source.close();
    location.assign('/');
  });
  // The browser reconnects by itself (the desk restarting); say so meanwhile.
  source.addEventListener('error', () => {
    setStatus(status, 'reconnecting', 'reconnecting');
    if (source.readyState === EventSource.CLOSED) {
      // Refused for good (signed out): check, then try again.
      setTimeout(start, 2000);
    }
  });
}

async function start() {
  try {
    const me = await call('GET', '/api/me');
    setCsrf(me.csrf_token);
    byId('who').textContent = me.account ? (me.account.name || me.account.id) : '';
    connect();
  } catch (e) {
    if (e.status === 401) { location.assign('/'); return; }
    setStatus(status, 'reconnecting', 'reconnecting');
    setTimeout(start, 2000);
  }
}

start();
