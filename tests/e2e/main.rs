//! End-to-end tests: the embedded app on free ports, driven over the chat
//! WebSocket, the desk's HTTP API and event WebSocket, and gRPC, as a
//! customer's browser, an agent's browser and an operator's tools would.

mod bad_input;
mod browser;
mod chat_flow;
mod chat_receipts;
mod grpc;
mod omnichannel;
mod providers;
mod support;
mod telemetry;
