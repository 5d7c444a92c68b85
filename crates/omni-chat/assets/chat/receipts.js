// Read receipts: the agent replies the customer has seen. A reply counts
// as seen once at least half of it is inside the message list while the
// page is visible; its id then goes to the server in a `read` frame (a few
// at a time, at most 200 per frame). Replies already reported `read` (in
// the history) are not reported again.

import { byId } from '../common/common.js';
import * as socket from './socket.js';

const MAX_IDS = 200;
const BATCH_MS = 200;

const reported = new Set();   // ids the server has been told
const waiting = new Set();    // ids seen, not yet told
let timer = null;

const observer = new IntersectionObserver((entries) => {
  entries.forEach((e) => {
    if (!e.isIntersecting) return;
    observer.unobserve(e.target);
    const id = e.target.dataset.messageId;
    if (id && !reported.has(id)) { waiting.add(id); schedule(); }
  });
}, { root: byId('log-wrap'), threshold: 0.5 });

/** Watches the bubble `li` of server message `m` if it is an agent reply to report. */
export function watch(li, m) {
  if (m.direction !== 'outbound' || m.delivery === 'read' || reported.has(m.id)) return;
  observer.observe(li);
}

/** The bubbles are about to be replaced: stop watching them. */
export function reset() { observer.disconnect(); }

function schedule() {
  if (!timer) timer = setTimeout(flush, BATCH_MS);
}

/** Tells the server what was seen, if the page is visible and connected. */
export function flush() {
  if (timer) { clearTimeout(timer); timer = null; }
  if (document.visibilityState !== 'visible' || waiting.size === 0) return;
  const ids = Array.from(waiting).slice(0, MAX_IDS);
  if (!socket.send({ type: 'read', message_ids: ids })) return;   // again after the next welcome
  ids.forEach((id) => { waiting.delete(id); reported.add(id); });
  if (waiting.size) schedule();
}

document.addEventListener('visibilitychange', flush);
