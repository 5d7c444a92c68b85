//! The Lua scripts behind the atomic operations, each prefixed with the
//! shared helpers of `lua/common.lua`.

use redis::Script;

const COMMON: &str = include_str!("lua/common.lua");

/// One compiled script per atomic operation. `redis::Script` runs a script by
/// its SHA-1 and loads it again when the server lost it (after a restart).
pub(crate) struct Scripts {
    pub(crate) ingest: Script,
    pub(crate) append_outbound: Script,
    pub(crate) assign: Script,
    pub(crate) resolve: Script,
    pub(crate) record_delivery: Script,
    pub(crate) cas: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let with_common = |body: &str| Script::new(&format!("{COMMON}\n{body}"));
        Self {
            ingest: with_common(include_str!("lua/ingest.lua")),
            append_outbound: with_common(include_str!("lua/append_outbound.lua")),
            assign: with_common(include_str!("lua/assign.lua")),
            resolve: with_common(include_str!("lua/resolve.lua")),
            record_delivery: with_common(include_str!("lua/record_delivery.lua")),
            cas: with_common(include_str!("lua/cas.lua")),
        }
    }
}
