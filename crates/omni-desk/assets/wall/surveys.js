// The wall's survey section: today's CSAT %, NPS, CES average and response
// rate (answered of sent) per queue and per agent (`/api/wall/surveys`, polled every 30 s: answers come
// slowly), and the CSV export form (`/api/surveys.csv?from=&to=`, the
// last 30 days by default).

import { byId } from '/assets/common/common.js';

const POLL_MS = 30000;

const number = (v, digits) => (v === null || v === undefined ? '–' : v.toFixed(digits));

function row(kind, name, f) {
  const tr = document.createElement('tr');
  tr.dataset.testid = `survey-${kind}-${name}`;
  const answers = f.csat_responses + f.nps_responses + f.ces_responses;
  const rate = f.response_rate === null || f.response_rate === undefined ? '–' : `${Math.round(f.response_rate)}%`;
  const cells = [name, number(f.csat_percent, 0), number(f.nps, 0), number(f.ces_average, 1), String(answers), rate];
  cells.forEach((text, i) => {
    const cell = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) cell.scope = 'row';
    if (i === cells.length - 1) {
      cell.dataset.testid = 'response-rate';
      cell.title = `${f.responded} answered of ${f.sent} sent today`;
    }
    cell.textContent = text;
    tr.append(cell);
  });
  return tr;
}

function render(view) {
  const fill = (kind, figures) => {
    byId(`survey-${kind}s`).replaceChildren(...Object.entries(figures).map(([name, f]) => row(kind, name, f)));
  };
  fill('queue', view.queues);
  fill('agent', view.agents);
  const any = Object.keys(view.queues).length > 0;
  byId('surveys-note').textContent = any
    ? `Day ${view.day} (UTC)${view.truncated ? ', first answers only' : ''}.`
    : 'No answers yet today.';
}

async function poll() {
  try {
    const r = await fetch('/api/wall/surveys', { credentials: 'same-origin' });
    if (r.ok) render(await r.json());
  } catch (_) {
    // The live stream shows the connection state; try again later.
  }
}

function defaults() {
  const day = (d) => d.toISOString().slice(0, 10);
  const now = new Date();
  byId('survey-to').value = day(now);
  byId('survey-from').value = day(new Date(now.getTime() - 29 * 86400000));
}

defaults();
poll();
setInterval(poll, POLL_MS);
