//! The SMS adapter against a real bus (embedded, and NATS for the outage
//! test), a real Kannel gateway, and a fake of Twilio's Messages API that
//! follows Twilio's documented wire format.

mod conformance;
mod kannel;
mod support;
mod twilio_inbound;
mod twilio_outbound;
