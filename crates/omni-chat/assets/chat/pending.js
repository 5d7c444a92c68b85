// The customer's own messages that the server has not yet confirmed with a
// stored message: kept in localStorage so a reload or a lost connection
// neither loses nor duplicates them.
//
// entry: { client_id, text, at_ms, state: 'pending'|'retrying'|'sent'|'rejected',
//          acked_at, code, persist, attempt (resends after `unavailable`) }

import { storage } from '../common/common.js';

export const local = storage('local');
export const K_VISITOR = 'omni.visitor';
export const K_PENDING = 'omni.pending';
export const K_NAME = 'omni.name';
export const K_TOPIC = 'omni.topic';

/** How long an acknowledged message waits for its stored copy before it is dropped. */
const ACKED_KEEP_MS = 10 * 60 * 1000;

let entries = [];                // in order of sending
const byClient = new Map();      // client_id -> entry

export function get(clientId) { return byClient.get(clientId); }
export function all() { return entries.slice(); }

export function add(entry) {
  entries.push(entry);
  byClient.set(entry.client_id, entry);
  save();
}

export function remove(clientId) {
  const e = byClient.get(clientId);
  if (!e) return;
  byClient.delete(clientId);
  entries = entries.filter((x) => x !== e);
  save();
}

/** True if an acknowledged entry has waited too long for its stored copy. */
export function stale(e, now) {
  return e.state === 'sent' && e.acked_at && now - e.acked_at > ACKED_KEEP_MS;
}

export function save() {
  const keep = entries
    .filter((e) => (e.state === 'pending' || e.state === 'retrying' || e.state === 'sent') && e.persist)
    .map((e) => ({
      client_id: e.client_id, text: e.text, at_ms: e.at_ms,
      state: e.state === 'sent' ? 'sent' : 'pending', acked_at: e.acked_at || null,
    }));
  local.set(K_PENDING, keep.length ? JSON.stringify(keep) : null);
}

export function load() {
  const raw = local.get(K_PENDING);
  if (!raw) return;
  let list;
  try { list = JSON.parse(raw); } catch { return; }
  if (!Array.isArray(list)) return;
  const now = Date.now();
  list.forEach((p) => {
    if (!p || typeof p.client_id !== 'string' || typeof p.text !== 'string') return;
    const e = {
      client_id: p.client_id, text: p.text, at_ms: p.at_ms || now,
      state: p.state === 'sent' ? 'sent' : 'pending', acked_at: p.acked_at || null, persist: true,
    };
    if (stale(e, now)) return;
    entries.push(e);
    byClient.set(e.client_id, e);
  });
}
