// Proactive follow-ups in the desk (docs/surveys.md): the optional "check
// in on" date next to Resolve (sent as `followup_at_ms`, 09:00 local time
// on that day; the context service moves it into sending hours), and the
// open conversation's follow-up: scheduled (when, by whom), sent, or
// cancelled.

import { byId } from '../common/common.js';

const input = byId('followup-date');
const info = byId('followup-info');

/** A date input's value (`YYYY-MM-DD`) as 09:00 local time, epoch ms; 0 for none or an invalid one. */
function atNine(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return 0;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 9, 0, 0, 0);
  return Number.isFinite(d.getTime()) ? d.getTime() : 0;
}

function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

/** The chosen check-in (epoch ms), or 0. */
export function followupAtMs() {
  return input ? atNine(input.value) : 0;
}

/** Clears the date and lets only days from tomorrow be chosen. */
export function resetFollowupDate() {
  if (!input) return;
  input.value = '';
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  input.min = isoDay(tomorrow);
}

function when(ms) {
  return new Date(ms).toLocaleString(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

const WHY = {
  customer_wrote: 'the customer wrote first',
  opted_out: 'the customer opted out',
  reopened: 'the conversation was reopened',
};

/** Shows the open conversation's follow-up `f` (from the conversation's API answer), or hides the line. */
export function renderFollowup(f) {
  if (!info) return;
  info.hidden = !f;
  if (!f) { info.textContent = ''; info.removeAttribute('data-state'); return; }
  const who = f.agent_name ? (f.by_agent ? ' by ' + f.agent_name : ' for ' + f.agent_name + ' (queue)') : '';
  let text;
  let state = f.state;
  if (f.sent_at_ms) {
    state = 'sent';
    text = 'Check-in sent ' + when(f.sent_at_ms) + (f.replied ? '; the customer replied.' : '.');
  } else if (f.state === 'pending') {
    text = 'Check-in scheduled for ' + when(f.due_at_ms) + who + '.';
  } else {
    text = 'Check-in for ' + when(f.due_at_ms) + ' not sent: ' + (WHY[f.outcome] || f.outcome || f.state) + '.';
  }
  info.dataset.state = state;
  info.textContent = text;
}

resetFollowupDate();
