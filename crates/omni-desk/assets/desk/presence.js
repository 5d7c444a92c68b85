// Presence with a reason: going away asks which of the configured reasons
// (`[desk] away_reasons`, from /api/desk/settings), and the header shows
// how long the agent has been in the present state: since the time the
// router gives (`state_since_ms`, which survives restarts), else counted
// by the page (kept per agent in localStorage, so a reload does not
// restart the count).

import { byId, make, storage } from '../common/common.js';
import { api } from './api.js';
import { el } from './dom.js';
import { report } from './feedback.js';
import { S } from './state.js';

const reasonSelect = byId('away-reason-select');
const reasonWrap = byId('away-reason-wrap');
const since = byId('presence-time');
const local = storage('local');

let applyState = () => {};
let loaded = null;
let loadedFor = null;

/** Sets what applies the agent state the server answers with. */
export function init(apply) { applyState = apply; }

let loading = null;

function load() {
  const token = S && S.token;
  if (!token || loadedFor === token) return loading || Promise.resolve();
  loadedFor = token;
  loading = api('GET', '/api/desk/settings').then((s) => {
    loaded = s || null;
    reasonSelect.replaceChildren();
    ((s && s.away_reasons) || []).forEach((r) => {
      const o = make('option', null, r);
      o.value = r;
      reasonSelect.appendChild(o);
    });
  }).catch((err) => { loadedFor = null; loading = null; report(err); });
  return loading;
}

/** The desk's settings (away reasons, wrap-up codes per queue), loading
 * them first when they are not yet. */
export function settingsLoaded() { return load().then(() => loaded); }

function goAway() {
  el.presence.disabled = true;
  api('PUT', '/api/presence', { presence: 'away', reason: reasonSelect.value || null }).then((agent) => {
    el.presence.disabled = false;
    applyState(agent);
  }).catch((err) => {
    el.presence.disabled = false;
    if (S && S.agent) el.presence.value = S.agent.presence;
    report(err);
  });
}

// A capture listener: going away is sent here, with the reason; the
// header's own listener sends the other states.
el.presence.addEventListener('change', (ev) => {
  if (!S || el.presence.value !== 'away') return;
  ev.stopImmediatePropagation();
  goAway();
}, { capture: true });
reasonSelect.addEventListener('change', () => {
  if (S && S.agent && S.agent.presence === 'away') goAway();
});

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return (h ? h + ':' + pad(m) : String(m)) + ':' + pad(s % 60);
}

/** Follows the agent's state: the reason picker and the time in state. */
function tick() {
  const a = S && S.agent;
  if (!a) { since.hidden = true; reasonWrap.hidden = true; return; }
  load();
  reasonWrap.hidden = !(loaded && loaded.away_reasons && loaded.away_reasons.length);
  if (a.presence === 'away' && a.away_reason && reasonSelect.value !== a.away_reason
      && document.activeElement !== reasonSelect) {
    reasonSelect.value = a.away_reason;
  }
  const key = 'omni.desk.presence.' + a.agent_id;
  const state = a.presence + '|' + (a.away_reason || '');
  let kept = null;
  try { kept = JSON.parse(local.get(key)); } catch { kept = null; }
  if (a.state_since_ms) {
    // The router's own time, kept across restarts and other browsers.
    kept = { state, since: Math.min(a.state_since_ms, Date.now()) };
  } else if (!kept || kept.state !== state) {
    kept = { state, since: Date.now() };
    local.set(key, JSON.stringify(kept));
  }
  since.textContent = clock(Date.now() - kept.since);
  since.title = 'Time ' + a.presence + (a.away_reason ? ' (' + a.away_reason + ')' : '') + ' since ' + new Date(kept.since).toLocaleTimeString();
  since.hidden = false;
}
setInterval(tick, 1000);
