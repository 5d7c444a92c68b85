//! The chat adapter against the adapter conformance kit: a real WebSocket
//! page as the customer, the embedded bus, no context service (the page
//! is told its history cannot be shown, and its messages are still taken),
//! and the receipts of live replies on their trace.

mod conformance;
mod receipts;
