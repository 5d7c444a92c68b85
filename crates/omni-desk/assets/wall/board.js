// The wall's live tables: every queue's numbers, the contacts waiting and
// every agent, drawn from one `wall` event; the waits count up every
// second between events; the day's charts from a `day` event.

import { byId, make, channelLabel } from '/assets/common/common.js';
import { lineChart, barChart, niceMax } from './chart.js';
import { factsText, filterContacts, markRow } from './filter.js';

/** A duration in ms as "42 s", "3:05" or "1 h 04 m". */
export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

const percent = (v) => (v === null || v === undefined ? '–' : `${Math.round(v * 100)}%`);

/** The board: `render(wall)`, `tick()`, `renderDay(day)`; `act` has the row actions. */
export function board(act) {
  let skew = 0; // server time minus this browser's
  let last = null;
  let day = null;
  const serverNow = () => Date.now() + skew;

  function cell(row, text, cls, testid) {
    const td = make('td', cls, text);
    if (testid) td.dataset.testid = testid;
    row.appendChild(td);
    return td;
  }

  function button(label, testid, onClick, title) {
    const b = make('button', 'btn small', label);
    b.type = 'button';
    b.dataset.testid = testid;
    if (title) b.setAttribute('aria-label', title);
    b.addEventListener('click', onClick);
    return b;
  }

  function renderQueues(wall) {
    const rows = wall.queues.map((q) => {
      const tr = make('tr');
      tr.dataset.testid = `queue-${q.queue}`;
      const name = make('th', null, q.name);
      name.scope = 'row';
      if (q.hours) {
        // Business hours: "closed, opens Mon 09:00 Europe/Madrid".
        const hours = make('span', q.hours.open ? 'hours open' : 'hours closed', q.hours.text);
        hours.dataset.testid = `hours-${q.queue}`;
        name.append(make('br'), hours);
      }
      tr.appendChild(name);
      cell(tr, String(q.waiting), 'num', `waiting-${q.queue}`);
      cell(tr, String(q.offered), 'num', `offered-${q.queue}`);
      const wait = cell(tr, '', 'num wait', `longest-${q.queue}`);
      wait.dataset.since = q.oldest_since_ms ?? '';
      const t = q.today;
      const sl = cell(tr, `${percent(t.service_level)} / ${q.target_percent}% in ${q.threshold_ms / 1000} s`, 'num', `sl-${q.queue}`);
      if (t.service_level !== null && t.service_level !== undefined) {
        sl.classList.add(t.service_level * 100 >= q.target_percent ? 'sl-ok' : 'sl-low');
      }
      cell(tr, String(t.answered), 'num', `answered-${q.queue}`);
      cell(tr, String(t.abandoned), 'num', `abandoned-${q.queue}`);
      cell(tr, String(t.transferred), 'num', `transferred-${q.queue}`);
      cell(tr, duration(t.average_speed_of_answer_ms), 'num', `asa-${q.queue}`);
      cell(tr, duration(t.average_handle_ms), 'num', `aht-${q.queue}`);
      cell(tr, duration(t.average_first_response_ms), 'num', `frt-${q.queue}`);
      cell(tr, `${q.agents.available} / ${q.agents.busy} / ${q.agents.away}`, 'num', `agents-${q.queue}`);
      const steps = cell(tr, '', null, `steps-${q.queue}`);
      for (const s of q.steps) {
        const chip = make('span', 'step', `${s.step}: ${s.waiting}`);
        chip.title = `step ${s.step}${s.after_ms ? ` after ${s.after_ms / 1000} s` : ''}: ${s.requirement || 'anyone'}`;
        steps.appendChild(chip);
      }
      return tr;
    });
    byId('queue-rows').replaceChildren(...rows);
  }

  function renderContacts(wall) {
    const items = [];
    for (const q of wall.queues) {
      for (const c of q.contacts) {
        const li = make('li');
        li.dataset.testid = `contact-${c.conversation_id}`;
        li.appendChild(make('span', 'id', c.conversation_id));
        li.appendChild(make('span', null, `${q.name} · ${channelLabel(c.channel)} · step ${c.step}`));
        const waited = make('span', 'wait');
        waited.dataset.since = c.queued_at_ms;
        li.appendChild(waited);
        if (c.offered_to) li.appendChild(make('span', 'muted', `offered to ${c.offered_to}`));
        // What enrichment learned, for the filter (filter.js).
        markRow(li, c);
        const facts = factsText(c);
        if (facts) {
          const f = make('span', 'facts', facts);
          f.dataset.testid = `facts-${c.conversation_id}`;
          if (c.sentiment) f.dataset.sentiment = c.sentiment;
          li.appendChild(f);
        }
        const actions = make('span', 'actions');
        actions.append(
          button('Read', `read-${c.conversation_id}`, () => act.read(c.conversation_id), `Read ${c.conversation_id}`),
          button('Why', `why-${c.conversation_id}`, () => act.why(c.conversation_id), `Why: routing of ${c.conversation_id}`),
          button('Move', `move-${c.conversation_id}`, () => act.move(c.conversation_id), `Move ${c.conversation_id}`),
        );
        li.appendChild(actions);
        items.push(li);
      }
    }
    byId('contact-rows').replaceChildren(...items);
    filterContacts(wall, byId('contact-rows'));
    byId('contacts-empty').hidden = items.length > 0;
  }

  function renderAgents(wall) {
    const rows = wall.agents.map((a) => {
      const tr = make('tr');
      tr.dataset.testid = `agent-${a.agent_id}`;
      const name = make('th', null, a.name || a.agent_id);
      name.scope = 'row';
      tr.appendChild(name);
      const p = cell(tr, '', null, `presence-${a.agent_id}`);
      const dot = make('span', 'presence-dot');
      dot.dataset.presence = a.presence;
      p.append(dot, a.presence + (a.away_reason ? ` (${a.away_reason})` : ''));
      const since = cell(tr, '', 'num wait', `since-${a.agent_id}`);
      since.dataset.since = a.state_since_ms || '';
      cell(tr, a.load.map((l) => `${channelLabel(l.channel)} ${l.used}/${l.capacity}`).join(' · '), null, `load-${a.agent_id}`);
      const held = cell(tr, '', null, `held-${a.agent_id}`);
      const box = make('span', 'held');
      for (const id of a.assigned) {
        const one = make('span');
        one.dataset.testid = `held-${a.agent_id}-${id}`;
        one.append(
          make('span', 'id', id),
          button('Read', `read-${id}`, () => act.read(id), `Read ${id}`),
          button('Why', `why-${id}`, () => act.why(id), `Why: routing of ${id}`),
          button('Move', `move-${id}`, () => act.move(id), `Move ${id}`),
        );
        box.appendChild(one);
      }
      held.appendChild(box);
      cell(tr, String(a.offers_missed_today), 'num', `missed-${a.agent_id}`);
      const actions = cell(tr, '');
      actions.appendChild(button('Presence', `set-presence-${a.agent_id}`, () => act.presence(a), `Change ${a.agent_id}'s presence`));
      return tr;
    });
    byId('agent-rows').replaceChildren(...rows);
  }

  function tick() {
    const now = serverNow();
    for (const n of document.querySelectorAll('.wait')) {
      const since = Number(n.dataset.since);
      n.textContent = since ? duration(now - since) : '–';
    }
  }

  function chartQueues() {
    const select = byId('chart-queue');
    const want = (last ? last.queues.map((q) => q.queue) : []);
    const have = Array.from(select.options, (o) => o.value);
    if (want.join() !== have.join()) {
      const keep = select.value;
      select.replaceChildren(...want.map((q) => {
        const o = make('option', null, q);
        o.value = q;
        return o;
      }));
      if (want.includes(keep)) select.value = keep;
    }
  }

  function drawDay() {
    if (!day || !last) return;
    const queue = byId('chart-queue').value;
    const q = day.queues.find((x) => x.queue === queue) || { intervals: [] };
    const info = last.queues.find((x) => x.queue === queue);
    const slots = Math.round(86400000 / day.interval_ms);
    byId('day-label').textContent = day.day;
    const sl = q.intervals.filter((i) => i.service_level !== null).map((i) => [i.index, i.service_level * 100]);
    lineChart(byId('chart-sl'), {
      title: `Service level of ${queue} by interval, ${day.day}`,
      series: [{ label: 'service level', points: sl }],
      slots, yMax: 100, target: info ? info.target_percent : null,
      yLabel: (v) => `${Math.round(v)}%`,
    });
    const depth = q.intervals.map((i) => [i.index, i.depth]);
    lineChart(byId('chart-depth'), {
      title: `Average contacts waiting in ${queue} by interval, ${day.day}`,
      series: [{ label: 'waiting', points: depth }],
      slots, yMax: niceMax(Math.max(1, ...depth.map((p) => p[1]))),
      yLabel: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
    });
    const arrivals = q.intervals.map((i) => [i.index, i.arrivals]);
    const answers = q.intervals.map((i) => [i.index, i.answered]);
    barChart(byId('chart-flow'), {
      title: `Arrivals and answers in ${queue} by interval, ${day.day}`,
      series: [{ label: 'arrivals', points: arrivals }, { label: 'answers', points: answers }],
      slots, yMax: niceMax(Math.max(0, ...arrivals.map((p) => p[1]), ...answers.map((p) => p[1]))),
      yLabel: (v) => String(Math.round(v)),
    });
  }

  byId('chart-queue').addEventListener('change', drawDay);

  return {
    render(wall) {
      skew = wall.now_ms - Date.now();
      last = wall;
      renderQueues(wall);
      renderContacts(wall);
      renderAgents(wall);
      chartQueues();
      tick();
      drawDay();
    },
    renderDay(d) {
      day = d;
      drawDay();
    },
    tick,
    last: () => last,
  };
}
