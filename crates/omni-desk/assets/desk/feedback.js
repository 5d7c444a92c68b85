// What the desk tells the agent: the error bar, the notice that goes away
// by itself, and announcements for screen readers.

import { errorBar } from '../common/common.js';
import { el } from './dom.js';

export const errors = errorBar();

let noticeTimer = null;
/** Shows `text` at the bottom for a few seconds. */
export function notify(text) {
  el.notice.textContent = text;
  el.notice.hidden = false;
  if (noticeTimer) clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.notice.hidden = true; el.notice.textContent = ''; }, 8000);
}

/** Hides the notice now. */
export function hideNotice() { el.notice.hidden = true; }

/** Says `text` to screen readers. */
export function announce(text) {
  el.announcer.textContent = '';
  setTimeout(() => { el.announcer.textContent = text; }, 50);
}

/** Shows a failed request's message, unless it was handled already. */
export function report(err) {
  if (err && err.handled) return;
  errors.show(err && err.message ? err.message : 'Something went wrong.');
}
