//! Integration tests of the email adapter over real protocols: a real SMTP
//! client (Python's `smtplib`) and raw SMTP dialogues against the adapter's
//! server, the embedded bus and a real `nats-server`, and a real SMTP sink
//! (`aiosmtpd`) for outbound mail.

mod bus_down;
mod conformance;
mod inbound;
mod limits;
mod outbound;
mod props;
mod protocol;
mod starttls;
mod support;
