//! The security suite: one test per attack named in the trust issue, each of
//! which fails if the hole it names reopens. Every test starts its own app
//! (or part) on free ports, attacks it as an outsider or as a signed-in user
//! of the wrong role would, and checks the refusal a user would see. What
//! each module covers is in `docs/security.md`.

mod accounts;
mod customers_data;
mod deadletters;
mod desktools;
mod edge;
mod grpc;
mod grpc_tls;
mod limits;
mod positions;
mod records;
mod supervise;
mod support;
mod survey_links;
mod surveys;
mod wall;
mod webhook;
mod widget;
