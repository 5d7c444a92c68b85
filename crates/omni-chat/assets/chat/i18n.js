// The chat's own text in the customer's language: English, Spanish,
// French or German, from the message catalogs in ./i18n/. The language is
// the one the embedding page set (`data-lang`, the frame's `?lang=`), else
// the first of the browser's languages the chat has, else the site's
// default (`en` on the standalone page). Elements marked `data-i18n`
// (text), `data-i18n-placeholder`, `data-i18n-label` (aria-label) and
// `data-i18n-title` get theirs from the catalog.

import en from './i18n/en.js';
import es from './i18n/es.js';
import fr from './i18n/fr.js';
import de from './i18n/de.js';

const CATALOGS = { en, es, fr, de };
let lang = 'en';

/** The two-letter language of a tag (`es-MX` -> `es`) if the chat has it. */
function known(tag) {
  const l = String(tag || '').toLowerCase().split('-')[0];
  return Object.prototype.hasOwnProperty.call(CATALOGS, l) ? l : null;
}

/** Picks the language: `wanted`, else the first of `browser`, else `fallback`. */
export function choose(wanted, browser, fallback) {
  lang = known(wanted) || (browser || []).map(known).find(Boolean) || known(fallback) || 'en';
  document.documentElement.lang = lang;
  return lang;
}

/** The language in use. */
export function current() { return lang; }

/** The text of `key` with `{name}` replaced from `vars`. */
export function t(key, vars) {
  const text = CATALOGS[lang][key] ?? en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

/** Fills the marked elements under `root` in the current language. */
export function apply(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((n) => { n.placeholder = t(n.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-label]').forEach((n) => { n.setAttribute('aria-label', t(n.dataset.i18nLabel)); });
  root.querySelectorAll('[data-i18n-title]').forEach((n) => { n.title = t(n.dataset.i18nTitle); });
}
