//! `RedisServer` (in progress).
