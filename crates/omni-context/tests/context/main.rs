//! Context service tests over the real embedded bus and store: continuity
//! across channels, email threading, SMS opt-outs, delivery reports, sticky
//! routing, the gRPC API on a real socket, and erasing and exporting a
//! customer.

mod channels;
mod erasure;
mod grpc;
mod service;
mod signal;
mod support;
