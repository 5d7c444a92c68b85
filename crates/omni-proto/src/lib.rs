//! Generated protobuf types and gRPC stubs for Omniroute's contracts.
//!
//! `proto/omni/<area>/v1/*.proto` is the source of truth; this crate compiles
//! it at build time with protox. Domain types live in `omni-core`; the
//! conversions between the two are in [`convert`].
//!
//! # Layout
//! - [`common`], [`events`], [`context`], [`routing`]: generated code, one module per proto package.
//! - [`convert`]: `From`/`TryFrom` between generated and domain types.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server reflection.

#![forbid(unsafe_code)]

/// `omni.common.v1`: shared messages (identities, messages, conversations).
pub mod common {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("omni.common.v1");
}

/// `omni.events.v1`: bus event payloads.
pub mod events {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("omni.events.v1");
}

/// `omni.context.v1`: the context service.
pub mod context {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("omni.context.v1");
}

/// `omni.routing.v1`: the router service.
pub mod routing {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("omni.routing.v1");
}

pub mod convert;

/// Encoded `FileDescriptorSet` of every Omniroute proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/omni_descriptor.bin"));
