// The desk page's elements, looked up once.

import { byId } from '../common/common.js';

export const el = {
  notice: byId('notice'), announcer: byId('announcer'),
  signin: byId('signin'), signinForm: byId('signin-form'), agentId: byId('agent-id-input'), password: byId('password-input'), signinButton: byId('signin-button'),
  roleBadge: byId('role-badge'), presenceWrap: byId('presence-wrap'), adminPanel: byId('admin-panel'), accountList: byId('account-list'),
  deadLetterList: byId('deadletter-list'), deadLettersEmpty: byId('deadletters-empty'),
  app: byId('app'), agentName: byId('agent-name'), presence: byId('presence-select'), presenceDot: byId('presence-dot'),
  awayReason: byId('away-reason'), load: byId('load'), status: byId('status'), signout: byId('signout-button'),
  offers: byId('offers'), offersEmpty: byId('offers-empty'), offerCount: byId('offer-count'),
  convs: byId('conversation-list'), convsEmpty: byId('convs-empty'), convCount: byId('conv-count'),
  placeholder: byId('placeholder'), view: byId('conversation-view'), customerName: byId('customer-name'),
  identities: byId('customer-identities'), convStatus: byId('conversation-status'), convQueue: byId('conversation-queue'),
  convChannel: byId('conversation-channel'), resolve: byId('resolve-button'), convNotice: byId('conversation-notice'),
  timelineWrap: byId('timeline-wrap'), timeline: byId('timeline'),
  replyForm: byId('reply-form'), replyInput: byId('reply-input'), replyButton: byId('reply-button'),
  replyChannelWrap: byId('reply-channel-wrap'), replyChannel: byId('reply-channel'),
  replyWarning: byId('reply-warning'), replyHint: byId('reply-hint'), replyLimit: byId('reply-limit'),
  profile: byId('profile'), profileBody: byId('profile-body'),
  attrForm: byId('attr-form'), linkForm: byId('link-form'), mergeForm: byId('merge-form'),
  replyAddress: byId('reply-address'), replyAddressWrap: byId('reply-address-wrap'),
};

/**
 * Makes `parent`'s children the nodes of `keys`, in order: reuses the
 * nodes in `map` (key -> node), builds missing ones with `build(key)`,
 * removes the rest.
 */
export function reconcile(parent, map, keys, build) {
  const wanted = new Set(keys);
  map.forEach((node, key) => {
    if (!wanted.has(key)) { node.remove(); map.delete(key); }
  });
  keys.forEach((key, i) => {
    let node = map.get(key);
    if (!node) { node = build(key); map.set(key, node); }
    const at = parent.children[i];
    if (at !== node) parent.insertBefore(node, at || null);
  });
}

/** A channel badge. */
export function badge(channel) {
  const b = document.createElement('span');
  b.className = 'badge';
  b.textContent = channel === 'sms' ? 'SMS' : (channel || 'unknown');
  b.dataset.channel = channel || 'unknown';
  return b;
}
