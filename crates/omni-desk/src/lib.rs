//! The agent desk: the agent's page and the HTTP/WebSocket API behind it,
//! over the context and router gRPC services.
//!
//! # Layout
//! - [`access`]: the access table and the one gate that enforces it
//!   (sessions, roles, CSRF, `Origin`, single sign-on headers).
//! - [`desk`]: the accounts, the gRPC clients and who sees which conversation.
//! - [`session_api`]: sign-in, sign-out and `/api/me`.
//! - [`admin_api`]: account management and the audit log (admin).
//! - [`api`]: the JSON HTTP routes for presence, offers and conversations.
//! - [`channels`]: the enabled reply channels and their limits.
//! - [`notes_api`]: internal notes, and transfers with a note (an agent's
//!   own, and the supervisor's through [`supervise_api`]).
//! - [`canned_api`]: canned responses, shared and personal.
//! - [`settings_api`]: away reasons and wrap-up codes from the configuration.
//! - [`customer_api`]: customer profiles, linking, merging, attachments.
//! - [`deadletters_api`]: the replies adapters gave up on (admin).
//! - [`surveys_api`]: the survey answers of a period as CSV (supervisor).
//! - [`survey_view`]: a conversation's survey as its view shows it.
//! - [`wall_surveys`]: the wall's survey figures of today (supervisor).
//! - [`records_api`]: customers' data for admins: export and erasure.
//! - [`supervise_api`]: a supervisor sets others' presence and transfers
//!   conversations (audited).
//! - [`wall_api`]: the supervisor's wall page and the JSON it reads
//!   (queues and agents now, today's intervals, "why this agent").
//! - [`wall_events`]: the wall live, as server-sent events.
//! - [`wall_feed`]: the one poller of the router that every open wall of
//!   the desk listens to.
//! - [`wall_cx`]: the waiting contacts' intent, sentiment and language
//!   for the wall's filter.
//! - [`trace`]: agents' actions as spans in the conversation's trace.
//! - [`events`]: the live event WebSocket, merging router and context streams.
//! - [`signals`]: the agent's typing and reading, from the event socket to
//!   the customer (throttled).
//! - [`views`]: messages as served, their email HTML sanitized again.
//! - [`error`]: the one mapping of errors to HTTP status and JSON body.
//! - [`server`]: the routes and `serve(listener, desk, limits, shutdown)`
//!   (through [`omni_web::serve`]).

#![forbid(unsafe_code)]

pub mod access;
#[cfg(test)]
mod access_tests;
pub mod admin_api;
pub mod api;
pub mod canned_api;
pub mod channels;
pub mod customer_api;
pub mod deadletters_api;
pub mod desk;
pub mod error;
pub mod events;
pub mod notes_api;
pub mod records_api;
pub mod server;
pub mod session_api;
pub mod settings_api;
pub mod signals;
pub mod supervise_api;
pub mod survey_view;
pub mod surveys_api;
pub mod trace;
pub mod views;
pub mod wall_api;
pub mod wall_cx;
pub mod wall_events;
pub mod wall_feed;
pub mod wall_surveys;

pub use desk::Desk;
pub use server::serve;
