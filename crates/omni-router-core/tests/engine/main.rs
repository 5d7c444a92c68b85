//! The routing engine's behavior, through its public API: scenarios for each
//! rule, and property tests of the invariants over random event sequences.

mod bound;
mod channels;
mod hours;
mod invariants;
mod language;
mod positions;
mod priority;
mod rules;
mod scenarios;
mod support;
