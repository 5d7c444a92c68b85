// The open conversation's survey after service (docs/desk.md): one line in
// the conversation's head, under the follow-up: "Survey: CSAT 4/5 ·
// “Quick and kind”" once answered, "Survey sent, no answer yet" while it
// is open. Filled from the conversation's API answer and the resolve's,
// and live from the `survey` event when the customer answers.

import { byId } from '../common/common.js';

const info = byId('survey-info');

// The desk's words for the survey line, in one place like its other strings.
const TEXT = {
  label: 'Survey',
  scheduled: 'Survey scheduled, not sent yet',
  asked: 'Survey sent, no answer yet',
  notAnswered: 'Survey sent, not answered',
  notSent: 'Survey not sent',
  kinds: { csat: 'CSAT', nps: 'NPS', ces: 'CES' },
};

/** The line for survey `s` (from the conversation's API answer or a `survey` event). */
export function surveyText(s) {
  const kind = TEXT.kinds[s.kind] || String(s.kind || '').toUpperCase();
  if (s.score !== null && s.score !== undefined) {
    const comment = s.comment ? ' · “' + s.comment + '”' : '';
    return TEXT.label + ': ' + kind + ' ' + s.score + '/' + s.high + comment;
  }
  switch (s.phase) {
    case 'scheduled': return TEXT.scheduled;
    case 'asked': return TEXT.asked;
    case 'not_sent': return TEXT.notSent;
    default: return TEXT.notAnswered + (s.comment ? ' · “' + s.comment + '”' : '');
  }
}

/** Shows the open conversation's survey `s`, or hides the line. */
export function renderSurvey(s) {
  if (!info) return;
  info.hidden = !s;
  if (!s) { info.textContent = ''; info.removeAttribute('data-phase'); return; }
  info.dataset.phase = s.phase;
  info.textContent = surveyText(s);
}
