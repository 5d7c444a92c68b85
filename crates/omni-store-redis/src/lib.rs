//! Redis implementation of the store (in progress).
