// The customer profile under the head: facts, SMS opt-outs, how identities
// were linked, merges (with Unmerge), the customer's conversations, and
// the forms to edit attributes, link an identity and merge a customer.

import { channelLabel, make } from '../common/common.js';
import { canSupervise } from './account.js';
import { api, enc } from './api.js';
import { el } from './dom.js';
import { notify, report } from './feedback.js';
import { S } from './state.js';
import { renderViewHead } from './view.js';

/** A date as YYYY-MM-DD. */
export function ymd(ms) { return ms ? new Date(ms).toISOString().slice(0, 10) : ''; }

/** Closes and empties the profile (another conversation opens). */
export function resetProfile() {
  el.profile.open = false;
  el.profileBody.replaceChildren();
}

function renderProfile(data) {
  const body = el.profileBody;
  body.replaceChildren();
  if (!data || !data.customer) return;
  const cu = data.customer;
  const facts = [['Language', cu.language], ['Tier', cu.tier], ['CRM id', cu.external_id]];
  Object.keys(cu.attributes || {}).forEach((k) => facts.push([k, cu.attributes[k]]));
  const dl = make('ul');
  facts.forEach((f) => { if (f[1]) dl.appendChild(make('li', null, f[0] + ': ' + f[1])); });
  body.appendChild(dl);
  (cu.sms_opt_outs || []).forEach((o) => {
    const p = make('p', 'opt-out-warning', 'Opted out of SMS on ' + ymd(o.at_ms) + ' (' + o.detail + ') for ' + o.identity.value);
    p.setAttribute('data-testid', 'profile-opt-out');
    body.appendChild(p);
  });
  if ((cu.identity_sources || []).length) {
    body.appendChild(make('p', 'muted', 'How identities were linked:'));
    const ul = make('ul');
    cu.identity_sources.forEach((s) => {
      const li = make('li', null, s.identity.value + ': ' + s.detail + ' (' + s.by + ', ' + ymd(s.at_ms) + ')');
      li.setAttribute('data-testid', 'identity-source');
      ul.appendChild(li);
    });
    body.appendChild(ul);
  }
  if ((cu.unverified || []).length) {
    // Identities the customer typed, and senders who wrote into this
    // customer's thread (a reply address or a quoted Message-ID is no proof
    // of who they are): replies never go to them until confirmed.
    body.appendChild(make('p', 'muted', 'Not verified (replies do not go to these; confirm one once you have checked it):'));
    const uv = make('ul');
    cu.unverified.forEach((i) => {
      const li = make('li', null, i.kind + ': ' + i.value + ' ');
      li.setAttribute('data-testid', 'unverified-identity');
      if ((i.kind === 'email' || i.kind === 'phone') && canSupervise()) {
        const btn = make('button', 'btn', 'Confirm');
        btn.type = 'button';
        btn.setAttribute('data-testid', 'confirm-identity');
        btn.addEventListener('click', () => {
          const evidence = window.prompt('How did you check that ' + i.value + ' is this customer?');
          if (!evidence) return;
          profileCall('POST', '/customer/identities', { kind: i.kind, value: i.value, evidence, verified: true }, 'Identity confirmed.');
        });
        li.appendChild(btn);
      }
      uv.appendChild(li);
    });
    body.appendChild(uv);
  }
  (data.merges || []).forEach((mg) => {
    const p = make('p');
    p.setAttribute('data-testid', 'profile-merge');
    const who = mg.absorbed && (mg.absorbed.display_name || (mg.absorbed.identities[0] && mg.absorbed.identities[0].value)) || mg.absorbed && mg.absorbed.id;
    p.appendChild(make('span', null, 'Merged ' + (who || 'a customer') + ' on ' + ymd(mg.at_ms) + ' by ' + mg.by + ': ' + mg.evidence + ' '));
    if (canSupervise()) {
      const btn = make('button', 'btn', 'Unmerge');
      btn.type = 'button';
      btn.setAttribute('data-testid', 'unmerge-button');
      btn.addEventListener('click', () => {
        const reason = window.prompt('Why are these two different customers?');
        if (!reason) return;
        profileCall('POST', '/customer/unmerge', { merge_id: mg.id, reason }, 'Merge undone.');
      });
      p.appendChild(btn);
    }
    body.appendChild(p);
  });
  if ((data.conversations || []).length) {
    body.appendChild(make('p', 'muted', 'Conversations:'));
    const cl = make('ul');
    data.conversations.forEach((c) => {
      const li = make('li', null, ymd(c.created_at_ms) + ' · ' + c.status + ' · ' + channelLabel(c.last_channel) + ' · ' + c.message_count + (c.message_count === 1 ? ' message' : ' messages') + (c.id === (S.open && S.open.id) ? ' (this one)' : ''));
      li.setAttribute('data-testid', 'profile-conversation');
      cl.appendChild(li);
    });
    body.appendChild(cl);
  }
}

function applyProfile(data) {
  if (!S || !S.open || !data || !data.customer) return;
  S.open.customer = data.customer;
  renderViewHead();
  renderProfile(data);
}

function loadProfile() {
  if (!S || !S.open) return;
  const id = S.open.id;
  api('GET', '/api/conversations/' + enc(id) + '/customer').then((data) => {
    if (S && S.open && S.open.id === id) renderProfile(data);
  }).catch(report);
}

function profileCall(method, path, body, done) {
  if (!S || !S.open) return Promise.resolve();
  const id = S.open.id;
  return api(method, '/api/conversations/' + enc(id) + path, body).then((data) => {
    if (!S || !S.open || S.open.id !== id) return;
    applyProfile(data);
    if (done) notify(done);
  }).catch(report);
}

el.profile.addEventListener('toggle', () => { if (el.profile.open) loadProfile(); });
el.attrForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = el.attrForm.elements;
  const body = { attributes: {} };
  ['display_name', 'language', 'tier', 'external_id'].forEach((k) => { if (f[k].value) body[k] = f[k].value.trim(); });
  if (f.attr_key.value.trim()) body.attributes[f.attr_key.value.trim()] = f.attr_value.value;
  profileCall('PUT', '/customer', body, 'Profile saved.').then(() => el.attrForm.reset());
});
el.linkForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = el.linkForm.elements;
  profileCall('POST', '/customer/identities', { kind: f.kind.value, value: f.value.value, evidence: f.evidence.value, verified: canSupervise() }, canSupervise() ? 'Identity linked.' : 'Identity recorded as not verified.')
    .then(() => el.linkForm.reset());
});
el.mergeForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = el.mergeForm.elements;
  const q = f.kind.value + '=' + enc(f.value.value);
  api('GET', '/api/customers?' + q).then((found) => {
    const other = found && found.customer;
    if (!other) return;
    if (S.open && S.open.customer && other.id === S.open.customer.id) { notify('That is already this customer.'); return; }
    return profileCall('POST', '/customer/merge', { customer_id: other.id, evidence: f.evidence.value }, 'Customers merged.')
      .then(() => el.mergeForm.reset());
  }).catch(report);
});
