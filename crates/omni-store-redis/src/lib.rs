//! Omniroute's store on Redis: [`RedisStore`] implements
//! [`omni_store::ContextStore`], [`omni_store::RouterStore`] and
//! [`omni_store::AccountStore`] for the
//! distributed deployment, and passes the same conformance suite as the
//! embedded store.
//!
//! Every read-modify-write operation on the message path (`ingest`,
//! `append_outbound`, `record_delivery`, `assign`,
//! `resolve`) is one Lua script, so Redis runs it
//! atomically: concurrent ingests for one new identity make one customer and
//! gap-free seqs, and a script that refuses (not found, conflict, corrupt
//! record) does all its checks before its first write and leaves nothing half
//! done. New ids are generated in Rust and passed to the scripts as
//! candidates, used only when a record is created. Records are JSON in exactly
//! the shape of the domain types (`serde_json` on the Rust side; the scripts
//! decode with `cjson` and re-encode integers exactly), so either side reads
//! what the other wrote; a record that does not decode is
//! [`omni_store::StoreError::Corrupt`], naming its key. Durability is the
//! server's: run it with `appendonly yes` and `appendfsync always` for rule 1
//! (nothing accepted is lost).
//!
//! Linking, merging, unmerging and attribute updates are planned in Rust
//! (`omni_store::merge`, shared with the embedded store) and written by one
//! compare-and-set script (`lua/cas.lua`): it writes the plan only if every
//! record the plan was made from is unchanged, else the operation re-reads
//! and plans again. A merge racing a message from the same identity is
//! therefore either before or after it, never interleaved.
//!
//! # Layout
//!
//! - [`store`]: [`RedisStore`], its connection, key names and shared helpers.
//! - `context`: [`omni_store::ContextStore`] (ingest, replies, identities,
//!   merges, reads).
//! - `router`: [`omni_store::RouterStore`] (contacts, presence, agents' and
//!   queues' configuration).
//! - `tls`: the CA and client certificate files of a `rediss://` link.
//! - `scripts`: the Lua scripts (`src/lua/*.lua`), one per atomic operation.
//! - `cas`: optimistic transactions over `lua/cas.lua`.
//! - `lifecycle`: [`omni_store::CustomerRecords`]: deleting conversations and
//!   customers (erasure, retention) through `cas`, and the scans retention
//!   and erasure use (`SCAN`, never `KEYS`).
//! - `accounts`: [`omni_store::AccountStore`]: accounts, sessions (with a
//!   TTL) and the audit log, keys in its own table.
//! - `canned`: [`omni_store::CannedStore`]: canned responses in one hash,
//!   keys in its own table.
//! - `bots`: [`omni_store::BotStore`]: a bot's changes to a conversation
//!   through `cas`, its messages through `lua/append_outbound.lua`.
//! - `deadletters`: [`omni_store::DeadLetterStore`]: dead letters, bounded,
//!   keys in its own table.
//! - `schedule`: [`omni_store::ScheduleStore`]: the durable scheduler of
//!   surveys and follow-ups, keys in its own table.
//!
//! Keys, for a store opened with prefix `P` (e.g. `omni`); every key starts
//! with the hash tag `{P}`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:customer:<customer id>` | string | the [`omni_core::Customer`] JSON |
//! | `{P}:identity:<identity key>` | string | the customer id known by that identity (`chat:…`, `email:…`, `phone:…`) |
//! | `{P}:conversation:<conversation id>` | string | the [`omni_core::Conversation`] JSON |
//! | `{P}:latest:<customer id>` | string | the customer's most recent conversation id |
//! | `{P}:open` | set | ids of every conversation not resolved |
//! | `{P}:messages:<conversation id>` | sorted set | the [`omni_core::StoredMessage`] JSONs, scored by seq |
//! | `{P}:message:<message id>` | string | `<seq> <conversation id>`, for `record_delivery` |
//! | `{P}:inbound:<idempotency key>` | string | `<seq> <conversation id>` of the inbound message stored under that key (store-wide) |
//! | `{P}:outbound:<conversation id>` | hash | outbound idempotency key → seq (per conversation) |
//! | `{P}:customer_conversations:<customer id>` | sorted set | the customer's conversation ids, scored by creation time |
//! | `{P}:email_thread:<Message-ID>` | string | the conversation holding that email (inbound or sent) |
//! | `{P}:attachment:<message id>:<index>` | string | an attachment's content (binary) |
//! | `{P}:merge:<merge id>` | string | the [`omni_core::MergeRecord`] JSON |
//! | `{P}:contacts` | hash | conversation id → [`omni_store::ContactRecord`] JSON |
//! | `{P}:presence` | hash | agent id → [`omni_store::PresenceRecord`] JSON |
//! | `{P}:counts:<day>` | hash | JSON `[queue, channel, number]` → that day's count ([`omni_store::DayCount`]) |
//! | `{P}:count_days` | set | the days that have counts |
//!
//! A history page is one `ZRANGE … BYSCORE (<after_seq> +inf LIMIT 0 <limit>`:
//! a conversation is never loaded whole. The seq is the position in the
//! timeline, ordered by the adapter's acceptance stamp: `ingest` walks back
//! from the newest message only past those stamped later than the new one
//! (usually none) and moves them one seq up, pointers included.
//!
//! # One hash tag, and why
//!
//! A Lua script is atomic only over keys of one Cluster slot. `ingest` must,
//! in one step, check the store-wide inbound idempotency key, find or create
//! the customer by identity (before the customer id is known), read the
//! customer's latest conversation, append to it and keep the store-wide
//! `open` index; `assign` and `resolve` know only a conversation id and also
//! keep `open`. Splitting these over per-identity and per-customer tags
//! would need several scripts with crash windows between them (a key claimed
//! but its message never stored, an identity pointing at a customer not yet
//! written) and a sharded `open` index. So every key of one store shares the
//! tag `{P}`: the store works unchanged on Redis Cluster, but all of it lives
//! in one slot, so one store scales with one shard; run several prefixes (for
//! example one per tenant) to spread load. Scripts name `{P}:open` as their
//! key, so a Cluster client routes them to the slot's node, and build the
//! other key names from the tag, all in the same slot.
//!
//! Numbers in records are integers of magnitude below 2^53 (the scripts run Lua 5.1,
//! whose numbers are doubles): millisecond timestamps until the year 287396,
//! seqs and counts.

#![forbid(unsafe_code)]

mod accounts;
mod bots;
mod canned;
mod cas;
mod context;
mod deadletters;
mod lifecycle;
mod router;
mod schedule;
mod scripts;
pub mod store;
mod tls;

pub use store::RedisStore;
