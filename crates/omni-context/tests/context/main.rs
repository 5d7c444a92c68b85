//! Context service tests over the real embedded bus and store: continuity
//! across channels, email threading, SMS opt-outs, delivery reports, internal
//! notes and wrap-up codes, sticky
//! routing, the gRPC API on a real socket, erasing and exporting a
//! customer, SMS surveys after service in both modes, and a closed queue's
//! bot in both modes.

mod bots;
mod channels;
mod closed_bot;
mod enrichment;
mod erasure;
mod grpc;
mod notes;
mod python_enricher;
mod service;
mod signal;
mod support;
mod survey_links;
mod surveys;
