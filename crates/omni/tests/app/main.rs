//! The `omni` binary and the assembled app, in one test binary: the
//! command line as an operator runs it (and no secret in what it prints),
//! `omni simulate`, the deployment
//! files, the desk's customer routes and its refusals (a taken offer, a service
//! that is down) against the embedded app, and
//! distributed mode with every part in its own process.

mod cli;
mod deploy;
mod desk_customers;
mod desk_errors;
mod distributed;
mod secrets;
mod simulate;
mod support;
