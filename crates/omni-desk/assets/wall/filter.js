// The waiting contacts' filter: by intent, sentiment and language, the
// facts enrichment learned from each contact's latest message (the wall's
// `contacts[].intent`, `.sentiment`, `.lang`). The choices are the values
// the waiting contacts have; a row that does not match is hidden, and the
// count says how many are shown of how many.

import { byId, make } from '/assets/common/common.js';

const FACTS = ['intent', 'sentiment', 'lang'];
const form = byId('contact-filter');

/** The contact row's facts as text ("refund · negative · en"), or ''. */
export function factsText(c) {
  return FACTS.map((k) => c[k]).filter(Boolean).join(' · ');
}

/** Marks row `li` with contact `c`'s facts for the filter. */
export function markRow(li, c) {
  for (const k of FACTS) li.dataset[k] = c[k] || '';
}

function fillChoices(select, values) {
  const chosen = select.value;
  const any = make('option', null, 'Any');
  any.value = '';
  const options = [any, ...[...values].sort().map((v) => {
    const o = make('option', null, v);
    o.value = v;
    return o;
  })];
  // A chosen value no contact has now stays chosen (and matches nothing).
  if (chosen && !values.has(chosen)) {
    const o = make('option', null, chosen);
    o.value = chosen;
    options.push(o);
  }
  select.replaceChildren(...options);
  select.value = chosen;
}

/** Shows the rows of `list` that match the filter; returns how many. */
export function applyFilter(list) {
  const rows = [...list.children];
  let shown = 0;
  for (const li of rows) {
    const ok = FACTS.every((k) => !form.elements[k].value || li.dataset[k] === form.elements[k].value);
    li.hidden = !ok;
    if (ok) shown += 1;
  }
  const filtered = FACTS.some((k) => form.elements[k].value);
  byId('contact-count').textContent = filtered ? `${shown} of ${rows.length}` : String(rows.length);
  return shown;
}

/** Refreshes the choices from the contacts of `wall`, then filters `list`. */
export function filterContacts(wall, list) {
  for (const k of FACTS) {
    const values = new Set();
    for (const q of wall.queues) for (const c of q.contacts) if (c[k]) values.add(c[k]);
    fillChoices(form.elements[k], values);
  }
  return applyFilter(list);
}

form.addEventListener('change', () => applyFilter(byId('contact-rows')));
form.addEventListener('submit', (e) => e.preventDefault());
