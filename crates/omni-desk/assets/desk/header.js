// The top bar: the agent's name, presence (and the away reason), and load
// per channel.

import { api } from './api.js';
import { el } from './dom.js';
import { report } from './feedback.js';
import { S, enabled } from './state.js';

let applyState = () => {};
/** Sets what applies the agent state the server answers a presence change with. */
export function init(apply) { applyState = apply; }

/** Redraws the bar from `S.agent`. */
export function renderHeader() {
  const a = S.agent;
  el.agentName.textContent = a.name || a.agent_id || '';
  if (!el.presence.disabled) el.presence.value = a.presence || 'offline';
  el.presenceDot.dataset.presence = a.presence || 'offline';
  if (a.presence === 'away' && a.away_reason) {
    el.awayReason.textContent = a.away_reason;
    el.awayReason.hidden = false;
  } else {
    el.awayReason.hidden = true;
    el.awayReason.textContent = '';
  }
  // Only the channels this deployment runs: a disabled one has nothing to count.
  el.load.textContent = (a.load || []).filter((l) => enabled(l.channel))
    .map((l) => l.channel + ' ' + l.used + '/' + l.capacity).join(' · ');
}

el.presence.addEventListener('change', () => {
  if (!S) return;
  const wanted = el.presence.value;
  el.presence.disabled = true;
  api('PUT', '/api/presence', { presence: wanted, reason: null }).then((agent) => {
    el.presence.disabled = false;
    applyState(agent);
  }).catch((err) => {
    el.presence.disabled = false;
    if (S && S.agent) el.presence.value = S.agent.presence;
    report(err);
  });
});
