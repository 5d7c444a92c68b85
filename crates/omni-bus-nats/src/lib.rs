//! NATS JetStream implementation of the bus (in progress).
