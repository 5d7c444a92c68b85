// The signed-in account: its name and role in the header, presence shown
// only to agents, and for an admin the list of accounts and the dead
// letters (replies an adapter gave up on after its last retry).

import { api } from './api.js';
import { el } from './dom.js';
import { report } from './feedback.js';
import { S, current } from './state.js';

let supervising = false;

/** Whether the signed-in person is a supervisor or admin (may merge, unmerge, verify). */
export function canSupervise() { return supervising; }

/** Shows `account` (`{id, name, role, agent?}` from sign-in or /api/me); null clears. */
export function showAccount(account) {
  supervising = !!account && (account.role === 'supervisor' || account.role === 'admin');
  // What only a supervisor may do is not offered to an agent.
  el.mergeForm.hidden = !supervising;
  document.getElementById('wall-link').hidden = !supervising;
  el.linkForm.elements.evidence.placeholder = supervising ? 'how you verified it' : 'note (recorded as not verified)';
  el.roleBadge.hidden = !account;
  el.roleBadge.textContent = account ? account.role : '';
  const isAgent = !account || account.agent !== false;
  el.presenceWrap.hidden = !isAgent;
  el.load.hidden = !isAgent;
  if (account && !isAgent) el.agentName.textContent = account.name || account.id;
  const admin = !!account && account.role === 'admin';
  el.adminPanel.hidden = !admin;
  el.accountList.textContent = '';
  el.deadLetterList.textContent = '';
  if (!admin) return;
  const token = S && S.token;
  api('GET', '/api/admin/accounts').then((data) => {
    if (!current(token)) return;
    const list = (data && Array.isArray(data.accounts)) ? data.accounts : [];
    list.forEach((a) => {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'account');
      li.textContent = a.id + ' \u2014 ' + a.role + (a.disabled ? ' (disabled)' : '');
      el.accountList.appendChild(li);
    });
  }, report);
  api('GET', '/api/admin/deadletters?limit=50').then((data) => {
    if (!current(token)) return;
    const list = (data && Array.isArray(data.dead_letters)) ? data.dead_letters : [];
    el.deadLettersEmpty.hidden = list.length > 0;
    list.forEach((d) => {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'dead-letter');
      const when = new Date(d.at_ms).toLocaleString();
      li.textContent = d.channel + ' \u2014 ' + (d.decode_error || d.reason) + ' \u2014 \u201c' + d.text + '\u201d';
      li.title = when + ', ' + d.attempts + ' attempts to ' + d.recipient + ', conversation ' + d.conversation_id;
      el.deadLetterList.appendChild(li);
    });
  }, report);
}
