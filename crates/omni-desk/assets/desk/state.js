// The signed-in session's state, one object replaced on every sign-in and
// sign-out. Modules import the live binding `S` and change it only through
// `setSession`.

/** The session state, or null when signed out. */
export let S = null;

/** Replaces the session state. */
export function setSession(next) { S = next; }

/**
 * A new state for `token`; `channels` are the enabled reply channels with
 * their limits (`[{channel, max_bytes, max_segments?}]`), null when not known.
 */
export function freshState(token, channels) {
  return {
    token,
    channels: Array.isArray(channels) ? channels : null,
    agent: null,
    offers: new Map(),       // offer_id -> Offer
    freshOffers: new Set(),  // offer ids to highlight
    acting: new Set(),       // offer ids with a request in flight or settled by us
    assigned: [],            // conversation ids, in the router's order
    summaries: new Map(),    // conversation id -> summary
    unread: new Set(),
    open: null,              // { id, seq, conversation, customer, messages: Map, loaded }
    replying: false,
    draftClientId: null,
    draftText: null,
  };
}

/** True while `token`'s session is still the current one. */
export function current(token) { return S !== null && S.token === token; }

/** True if replies can go out on `channel` (all can while the list is not known). */
export function enabled(channel) {
  return !S || !S.channels || S.channels.some((c) => c.channel === channel);
}

/**
 * The channels a reply to an identity of `kind` can go out on, from the
 * declared set the server listed at sign-in (its `identity_kinds`); before
 * the list is known, the built-in channel of a built-in kind.
 */
export function channelsForKind(kind) {
  if (S && Array.isArray(S.channels) && S.channels.every((c) => Array.isArray(c.identity_kinds))) {
    return S.channels.filter((c) => c.identity_kinds.indexOf(kind) >= 0).map((c) => c.channel);
  }
  const builtIn = { chat_visitor: 'chat', email: 'email', phone: 'sms', sms_sender: 'sms' }[kind];
  return builtIn && enabled(builtIn) ? [builtIn] : [];
}

/** The longest reply on `channel`, in bytes; null when not known. */
export function maxBytes(channel) {
  const c = S && S.channels && S.channels.find((x) => x.channel === channel);
  return c && typeof c.max_bytes === 'number' ? c.max_bytes : null;
}

/** The most SMS segments a reply on `channel` may take; null when not limited. */
export function maxSegments(channel) {
  const c = S && S.channels && S.channels.find((x) => x.channel === channel);
  return c && typeof c.max_segments === 'number' ? c.max_segments : null;
}
