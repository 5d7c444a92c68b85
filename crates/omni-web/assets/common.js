// What the chat page and the desk share: DOM and time helpers, storage that
// never throws, the error bar, the connection status, and reconnect backoff.

/** The element with `id`. */
export const byId = (id) => document.getElementById(id);

/** A new `tag` element with class `cls` and text `text` (both optional). */
export function make(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined && text !== null) n.textContent = text;
  return n;
}

/** Local "HH:MM" of a time in ms, or '' for none. */
export function hhmm(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  if (isNaN(d.getTime())) return '';
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

/** The full local date and time of a time in ms. */
export function fullTime(ms) {
  const d = new Date(ms);
  return isNaN(d.getTime()) ? '' : d.toLocaleString();
}

/** A random id: `prefix` and 32 hex digits. */
export function randomId(prefix) {
  const a = new Uint8Array(16);
  window.crypto.getRandomValues(a);
  return prefix + Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A channel's name as shown. */
export function channelLabel(c) { return c === 'sms' ? 'SMS' : (c || 'unknown'); }

/**
 * localStorage or sessionStorage that never throws (private mode, storage
 * off): `get(k)`, `set(k, v)` (an empty `v` removes), `keys()`.
 */
export function storage(kind) {
  const area = () => (kind === 'session' ? window.sessionStorage : window.localStorage);
  return {
    get(k) { try { return area().getItem(k); } catch { return null; } },
    set(k, v) {
      try {
        if (v === null || v === undefined || v === '') area().removeItem(k);
        else area().setItem(k, v);
      } catch { /* storage off: nothing kept */ }
    },
    keys() {
      try {
        const a = area();
        const out = [];
        for (let i = 0; i < a.length; i++) out.push(a.key(i));
        return out;
      } catch { return []; }
    },
  };
}

/**
 * The page's error bar (`#error-bar`, `#error-text`, `#error-dismiss`):
 * `show(message, tag)` with an optional tag saying what it is about,
 * `clear()`, `tag()`.
 */
export function errorBar() {
  const bar = byId('error-bar');
  const text = byId('error-text');
  let shownTag = null;
  const clear = () => { bar.hidden = true; text.textContent = ''; shownTag = null; };
  byId('error-dismiss').addEventListener('click', clear);
  return {
    show(message, tag) {
      text.textContent = message || 'Something went wrong.';
      bar.hidden = false;
      shownTag = tag || null;
    },
    clear,
    tag: () => shownTag,
  };
}

/** Sets a connection status element's state (for its dot) and text. */
export function setStatus(el, state, text) {
  el.dataset.state = state;
  el.textContent = text;
}

/** Longest wait between reconnect attempts. */
export const BACKOFF_MAX_MS = 15000;

/** The wait before reconnect attempt `attempt` (0-based): 1 s doubling, capped. */
export function backoff(attempt) { return Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, attempt)); }

/** The WebSocket URL of `path` on this page's host. */
export function wsUrl(path) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}
