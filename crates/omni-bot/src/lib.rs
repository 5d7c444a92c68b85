//! Writing an Omniroute bot: a program that answers customers first and
//! hands the conversation to a person when it should, speaking the bot
//! protocol of `proto/omni/bot/v1/bot.proto` over the bus (docs/bots.md).
//!
//! A bot implements [`Bot`] (one turn in, one reply out) and is served by
//! [`runner::serve`], which takes its turns from `omni.bot.turn.<bot>`,
//! publishes its replies on `omni.bot.reply` once per turn and
//! acknowledges, on the embedded bus and on NATS alike. The built-in
//! [`faq::FaqBot`] is such a bot, and the reference implementation.
//!
//! This crate knows only the protocol: nothing here depends on the
//! context service or the router.
//!
//! # Layout
//! - [`runner`]: the [`Bot`] trait and serving it over the bus.
//! - [`faq`]: the FAQ bot: its file, matching, and flow.
//! - `conformance` (feature `conformance`): the kit that drives any bot
//!   over the bus and names each protocol rule it breaks.

#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod faq;
pub mod runner;

pub use faq::FaqBot;
pub use runner::{Bot, BotError, Runner, RunnerError, serve};
