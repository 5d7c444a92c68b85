//! Context service tests over the real embedded bus and store: continuity
//! across channels, email threading, SMS opt-outs, delivery reports, sticky
//! routing, and the gRPC API on a real socket.

mod channels;
mod grpc;
mod service;
mod support;
