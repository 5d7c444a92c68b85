//! `NatsServer` (in progress).
