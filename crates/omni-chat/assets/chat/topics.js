// The topics a customer can pick: the configured ones, from `GET /topics`
// (the page has none of its own). A `?topic=` in the page's address
// preselects a topic; one that is not configured gets a visible note.

import { byId, make } from '../common/common.js';
import { t } from './i18n.js';

const select = byId('topic-select');
const note = byId('topic-note');
const names = new Map();    // topic id -> name shown

/** The name shown for topic `id`, or '' if it is not (or not yet) known. */
export function label(id) { return (id && names.get(id)) || ''; }

/**
 * Fills the topic menu from the server and preselects `wanted` if it is
 * one of them; if it is not, says so next to the menu. Without topics (or
 * when they cannot be read) the menu is hidden and the chat's default
 * queue serves the customer. A site's frame gives its own `list` (the
 * site's topics, labeled in the customer's language).
 */
export async function load(wanted, list) {
  if (!Array.isArray(list)) {
    list = [];
    try {
      const r = await fetch('/topics', { headers: { Accept: 'application/json' } });
      if (r.ok) list = await r.json();
    } catch { /* no topics: the default queue */ }
  }
  if (!Array.isArray(list)) list = [];
  select.replaceChildren();
  list.forEach((t) => {
    if (!t || typeof t.id !== 'string') return;
    const name = typeof t.name === 'string' && t.name ? t.name : t.id;
    names.set(t.id, name);
    const o = make('option', null, name);
    o.value = t.id;
    select.appendChild(o);
  });
  select.closest('.field').hidden = names.size === 0;
  if (!wanted) return;
  if (names.has(wanted)) {
    select.value = wanted;
  } else {
    note.textContent = t('unknownTopic', { topic: wanted.slice(0, 40) });
    note.hidden = false;
  }
}

/** The topic picked, or null. */
export function picked() { return names.size ? select.value || null : null; }
