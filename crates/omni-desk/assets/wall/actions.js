// What a supervisor does from the wall, in the detail panel (kept apart
// from the live tables, so an update never resets a form being filled):
// read a conversation with its trace id, see why the router did what it
// did ("why this agent"), move a conversation to an agent or a queue, and
// change an agent's presence with a reason.

import { byId, make, fullTime, hhmm, channelLabel } from '/assets/common/common.js';

/** The session's CSRF token, set at start from `/api/me`. */
let csrf = '';
export function setCsrf(token) { csrf = token; }

/** A JSON call; rejects with the server's message. */
export async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    const e = new Error((json && json.message) || `request failed (${r.status})`);
    e.status = r.status;
    throw e;
  }
  return json;
}

/** The actions over the detail panel; `last()` is the latest wall. */
export function actions({ last, errors, announce }) {
  const panel = byId('detail');
  const body = byId('detail-body');
  byId('detail-close').addEventListener('click', () => { panel.hidden = true; });

  function open(title) {
    byId('detail-title').textContent = title;
    body.replaceChildren(make('p', 'muted', 'Loading…'));
    panel.hidden = false;
    panel.focus();
  }

  function field(label, control) {
    const wrap = make('label', 'field');
    wrap.append(make('span', null, label), control);
    return wrap;
  }

  function select(testid, options) {
    const s = make('select');
    s.dataset.testid = testid;
    for (const [value, label] of options) {
      const o = make('option', null, label);
      o.value = value;
      s.appendChild(o);
    }
    return s;
  }

  function submit(label, testid) {
    const b = make('button', 'btn primary', label);
    b.type = 'submit';
    b.dataset.testid = testid;
    return b;
  }

  async function read(id) {
    open(`Conversation ${id}`);
    try {
      const c = await call('GET', `/api/conversations/${encodeURIComponent(id)}`);
      const conv = c.conversation || {};
      const facts = make('p');
      facts.append(`${conv.status || ''} · queue ${conv.queue || '–'} · ${channelLabel(conv.last_channel)} · agent ${conv.assigned_agent || '–'} · customer ${c.customer ? (c.customer.display_name || c.customer.id) : '–'}`);
      const trace = make('p', 'trace');
      trace.dataset.testid = 'trace-id';
      trace.textContent = conv.trace_id ? `trace ${conv.trace_id}` : 'no trace id';
      const list = make('ul', 'timeline');
      list.dataset.testid = 'timeline';
      for (const m of c.messages || []) {
        const li = make('li', m.direction);
        li.append(
          make('div', 'meta', `${m.direction === 'inbound' ? 'customer' : (m.agent_name || m.agent_id || 'agent')} · ${channelLabel(m.channel)} · ${hhmm(m.at_ms)}`),
          make('div', null, m.text),
        );
        list.appendChild(li);
      }
      body.replaceChildren(facts, trace, list);
    } catch (e) {
      body.replaceChildren(make('p', 'muted', e.message));
    }
  }

  async function why(id) {
    open(`Why: routing of ${id}`);
    try {
      const r = await call('GET', `/api/wall/conversations/${encodeURIComponent(id)}/explain`);
      const table = make('table', 'grid decisions');
      table.dataset.testid = 'decisions';
      const head = make('tr');
      for (const h of ['When', 'What', 'Agent', 'Eligible', 'Rule', 'Score', 'Step', 'Explanation']) {
        const th = make('th', null, h);
        th.scope = 'col';
        head.appendChild(th);
      }
      const thead = make('thead');
      thead.appendChild(head);
      const tbody = make('tbody');
      for (const d of r.decisions) {
        const tr = make('tr');
        tr.dataset.testid = `decision-${d.kind}`;
        for (const v of [fullTime(d.at_ms), d.kind, d.agent_id, d.eligible, d.rule, d.score, d.step, d.summary]) {
          tr.appendChild(make('td', null, v === null || v === undefined ? '–' : String(v)));
        }
        tbody.appendChild(tr);
      }
      table.append(thead, tbody);
      body.replaceChildren(table);
    } catch (e) {
      body.replaceChildren(make('p', 'muted', e.message));
    }
  }

  function move(id) {
    open(`Move ${id}`);
    const wall = last();
    const agents = (wall ? wall.agents : []).map((a) => [a.agent_id, `${a.name || a.agent_id} (${a.presence})`]);
    const queues = (wall ? wall.queues : []).map((q) => [q.queue, q.name]);
    const agent = select('move-agent', [['', '—'], ...agents]);
    const queue = select('move-queue', [['', '—'], ...queues]);
    const form = make('form');
    form.append(field('To an agent', agent), field('or to a queue', queue), submit('Move', 'move-submit'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const target = agent.value ? { agent: agent.value } : (queue.value ? { queue: queue.value } : null);
      if (!target) { errors.show('Choose an agent or a queue.'); return; }
      try {
        await call('POST', `/api/conversations/${encodeURIComponent(id)}/transfer`, target);
        announce(`${id} moved to ${target.agent || target.queue}`);
        panel.hidden = true;
      } catch (e) { errors.show(e.message); }
    });
    body.replaceChildren(form);
    agent.focus();
  }

  function presence(a) {
    open(`Presence of ${a.name || a.agent_id}`);
    const choice = select('presence-choice', [['available', 'Available'], ['away', 'Away'], ['offline', 'Offline']]);
    choice.value = a.presence;
    const reason = make('input');
    reason.type = 'text';
    reason.required = true;
    reason.maxLength = 200;
    reason.dataset.testid = 'presence-reason';
    const form = make('form');
    form.append(field('Presence', choice), field('Reason', reason), submit('Set', 'presence-submit'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!reason.value.trim()) { errors.show('Say why.'); reason.focus(); return; }
      try {
        await call('PUT', `/api/agents/${encodeURIComponent(a.agent_id)}/presence`, { presence: choice.value, reason: reason.value.trim() });
        announce(`${a.agent_id} is ${choice.value}`);
        panel.hidden = true;
      } catch (e) { errors.show(e.message); }
    });
    body.replaceChildren(form);
    choice.focus();
  }

  return { read, why, move, presence };
}
