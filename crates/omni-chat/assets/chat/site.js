// The chat as a website's widget: in the frame `/widget/frame?site=<id>`,
// the site's title, greeting, colors and topics (their labels in the
// customer's language) come from `GET /widget/site`, and a Close button
// asks the host page's widget script to fold the frame away. On the
// standalone page none of this applies.

import { byId } from '../common/common.js';

const params = new URLSearchParams(location.search);

/** The site id when the page is a site's frame, else null. */
export const siteId = location.pathname === '/widget/frame' ? params.get('site') : null;

/** The language the embedding page set (`data-lang`), if any. */
export const pageLang = siteId ? params.get('lang') : null;

/** The site's default language, for the language choice before its settings arrive. */
export function defaultLang() { return params.get('default_lang'); }

/**
 * The site's settings in `lang` (`{title, greeting, accent, accent_text,
 * topics, …}`), applied to the page; null on the standalone page or when
 * they cannot be read.
 */
export async function load(lang) {
  if (!siteId) return null;
  let view = null;
  try {
    const q = new URLSearchParams({ site: siteId, lang });
    const r = await fetch('/widget/site?' + q, { headers: { Accept: 'application/json' } });
    if (r.ok) view = await r.json();
  } catch { /* the page's own defaults stay */ }
  if (!view || typeof view !== 'object') return null;
  document.documentElement.dataset.widget = siteId;
  if (view.title) {
    byId('chat-title').textContent = view.title;
    document.title = view.title;
  }
  const greeting = byId('greeting');
  greeting.textContent = view.greeting || '';
  greeting.hidden = !view.greeting;
  const root = document.documentElement.style;
  if (/^#[0-9a-f]{6}$/i.test(view.accent || '')) {
    root.setProperty('--accent', view.accent);
    root.setProperty('--accent-hover', view.accent);
  }
  if (/^#[0-9a-f]{6}$/i.test(view.accent_text || '')) root.setProperty('--accent-text', view.accent_text);
  const close = byId('close-chat');
  close.hidden = false;
  close.addEventListener('click', () => window.parent.postMessage({ omniroute: 'close' }, '*'));
  return view;
}
