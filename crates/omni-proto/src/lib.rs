//! Generated protobuf types and gRPC stubs for Omniroute's contracts.
//!
//! `proto/omni/<area>/v1/*.proto` is the source of truth; this crate compiles
//! it at build time with protox. Domain types live in `omni-core`; the
//! conversions between the two are in [`convert`].
//!
//! # Layout
//! - [`adapter`], [`bot`], [`common`], [`enrich`], [`events`], [`context`], [`routing`]: generated code, one module per proto package.
//! - [`auth`]: credentials on the gRPC API: the server's gate (tokens,
//!   method tables, the [`auth::Caller`] in each request) and the client's token.
//! - [`convert`]: `From`/`TryFrom` between generated and domain types.
//! - [`status`]: error statuses with a structured reason (`google.rpc.ErrorInfo`), built and read.
//! - [`view`]: JSON views of proto types, one shape per type, as the chat
//!   page and the desk's HTTP API show them.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server reflection.

#![forbid(unsafe_code)]

/// Declares module `<area>::v1` holding the code generated for proto
/// package `omni.<area>.v1`.
macro_rules! package {
    ($area:ident) => {
        #[doc = concat!("`omni.", stringify!($area), ".*`")]
        pub mod $area {
            #[doc = concat!("`omni.", stringify!($area), ".v1`")]
            pub mod v1 {
                include!(concat!(
                    env!("OUT_DIR"),
                    "/omni.",
                    stringify!($area),
                    ".v1.rs"
                ));
            }
        }
    };
}

/// Generated code, nested as the proto packages are (`omni.<area>.v1`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod omni {
    package!(common);
    package!(events);
    package!(context);
    package!(routing);
    package!(adapter);
    package!(bot);
    package!(enrich);
}

/// `omni.adapter.v1`: the channel adapter contract (capabilities, provider errors).
pub use omni::adapter::v1 as adapter;
/// `omni.bot.v1`: the bot protocol (turns for a bot, its replies).
pub use omni::bot::v1 as bot;
/// `omni.common.v1`: shared messages (identities, messages, conversations).
pub use omni::common::v1 as common;
/// `omni.context.v1`: the context service.
pub use omni::context::v1 as context;
/// `omni.enrich.v1`: the external enricher protocol (request, response).
pub use omni::enrich::v1 as enrich;
/// `omni.events.v1`: bus event payloads.
pub use omni::events::v1 as events;
/// `omni.routing.v1`: the router service.
pub use omni::routing::v1 as routing;

pub mod auth;
pub mod convert;
pub mod status;
pub mod view;

/// Encoded `FileDescriptorSet` of every Omniroute proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/omni_descriptor.bin"));
