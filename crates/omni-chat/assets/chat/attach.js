// The customer's files: the paperclip button opens the file picker; the
// file goes to `POST /attachments` (the server checks its type by content
// and its size) and shows in the log like a message, sent or refused with
// the reason in the customer's language.

import { byId, randomId } from '../common/common.js';
import { t } from './i18n.js';
import * as log from './log.js';

const button = byId('attach-button');
const input = byId('attach-input');
const hint = byId('attach-hint');
let limit = 0;
let ctx = null;

/** Turns attachments on with the server's `limit` in bytes (0: off). */
export function enable(bytes) {
  limit = Number.isFinite(bytes) ? bytes : 0;
  button.hidden = limit <= 0;
  hint.textContent = limit > 0 ? t('attachHint', { kb: Math.floor(limit / 1024) }) : '';
}

/**
 * Sets where a file goes: `visitor()` and `topic()` at the time it is
 * sent, and `error(text)` to show a refusal.
 */
export function init(c) { ctx = c; }

const REASONS = {
  too_large: () => t('attachTooLarge', { kb: Math.floor(limit / 1024) }),
  unsupported_type: () => t('attachUnsupported'),
  type_mismatch: () => t('attachMismatch'),
};

async function send(file) {
  const entry = { client_id: randomId('f'), text: '📎 ' + file.name, at_ms: Date.now(), state: 'pending' };
  log.appendLocal(entry);
  let refusal = null;
  if (file.size > limit) {
    refusal = REASONS.too_large();
  } else {
    try {
      const q = new URLSearchParams({ file: file.name, client_id: entry.client_id });
      const topic = ctx.topic();
      if (topic) q.set('topic', topic);
      const r = await fetch('/attachments?' + q, {
        method: 'POST', body: file, headers: { 'X-Visitor': ctx.visitor() || '' },
      });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        refusal = REASONS[body.error] ? REASONS[body.error]() : t('attachFailed', { reason: body.message || r.status });
      }
    } catch (e) {
      refusal = t('attachFailed', { reason: e.message });
    }
  }
  entry.state = refusal ? 'rejected' : 'sent';
  entry.code = refusal ? 'file' : undefined;
  log.refreshLocal(entry);
  if (refusal) ctx.error(refusal, entry.client_id);
}

button.addEventListener('click', () => input.click());
input.addEventListener('change', () => {
  const file = input.files && input.files[0];
  input.value = '';
  if (file && ctx) send(file);
});
