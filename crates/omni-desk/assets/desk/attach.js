// Files attached to an email reply: an "Attach file" button beside the
// reply (shown while the reply goes by email), the chosen files as chips
// with their size and a remove button, checked in the page against the
// server's limits (at most 5 files, 512 KiB in all, PDF, PNG, JPEG, GIF or
// plain text; the server checks again, content included). reply.js sends
// them with the reply, in base64, and clears them once sent.

import { make } from '../common/common.js';
import { el } from './dom.js';

export const MAX_FILES = 5;
export const MAX_TOTAL_BYTES = 512 * 1024;
const TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'text/plain'];

let files = [];   // { name, content_type, size, data (base64) }
let channelIsEmail = () => false;
let changed = () => {};

const wrap = make('span', 'attach');
const input = make('input');
input.type = 'file';
input.multiple = true;
input.id = 'attach-input';
input.className = 'visually-hidden';
input.accept = '.pdf,.png,.jpg,.jpeg,.gif,.txt,' + TYPES.join(',');
input.setAttribute('data-testid', 'attach-input');
const button = make('label', 'btn small', 'Attach file');
button.htmlFor = 'attach-input';
button.setAttribute('data-testid', 'attach-button');
button.tabIndex = 0;
button.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); input.click(); }
});
const chips = make('ul', 'plain attach-list');
chips.setAttribute('data-testid', 'attach-list');
chips.setAttribute('aria-label', 'Attached files');
const problem = make('span', 'reply-limit');
problem.setAttribute('data-testid', 'attach-error');
problem.setAttribute('role', 'status');
problem.hidden = true;
wrap.append(input, button, chips, problem);
el.replyForm.querySelector('.reply-foot').prepend(wrap);

/**
 * Sets what says whether the reply goes by email, and what to call when
 * the files change (the Send button's state).
 */
export function init(isEmail, onChange) { channelIsEmail = isEmail; changed = onChange; }

/** The files to send with the reply (none unless it goes by email). */
export function replyFiles() {
  return channelIsEmail() ? files.map((f) => ({ name: f.name, content_type: f.content_type, data: f.data })) : [];
}

/** Forgets the files (sent, or another conversation opened). */
export function clearFiles() { files = []; problem.hidden = true; render(); }

/** Shows the button only while the reply goes by email. */
export function renderAttach(enabled) {
  const email = channelIsEmail();
  wrap.hidden = !email;
  input.disabled = !enabled;
  button.setAttribute('aria-disabled', enabled ? 'false' : 'true');
}

function size(n) { return n < 1024 ? n + ' B' : (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB'; }

function say(text) { problem.textContent = text; problem.hidden = !text; }

function render() {
  chips.replaceChildren();
  files.forEach((f, i) => {
    const li = make('li', 'attach-chip');
    li.setAttribute('data-testid', 'attached-file');
    li.append(make('span', null, f.name + ' (' + size(f.size) + ')'));
    const remove = make('button', 'btn small', '×');
    remove.type = 'button';
    remove.setAttribute('aria-label', 'Remove ' + f.name);
    remove.addEventListener('click', () => { files.splice(i, 1); render(); changed(); });
    li.append(remove);
    chips.append(li);
  });
}

function read(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

input.addEventListener('change', async () => {
  const chosen = Array.from(input.files || []);
  input.value = '';
  say('');
  for (const file of chosen) {
    const type = file.type || (/\.txt$/i.test(file.name) ? 'text/plain' : '');
    if (TYPES.indexOf(type) < 0) { say(file.name + ': only PDF, PNG, JPEG, GIF or plain text can be attached.'); continue; }
    if (files.length >= MAX_FILES) { say('At most ' + MAX_FILES + ' files per reply.'); break; }
    const total = files.reduce((n, f) => n + f.size, 0) + file.size;
    if (total > MAX_TOTAL_BYTES) { say(file.name + ': the files would exceed 512 KB in all.'); continue; }
    try {
      files.push({ name: file.name, content_type: type, size: file.size, data: await read(file) });
    } catch {
      say(file.name + ': the file could not be read.');
    }
  }
  render();
  changed();
});
