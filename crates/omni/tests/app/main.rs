//! The `omni` binary and the assembled app, in one test binary: the
//! command line as an operator runs it, `omni simulate`, the deployment
//! files, the desk's customer routes against the embedded app, and
//! distributed mode with every part in its own process.

mod cli;
mod deploy;
mod desk_customers;
mod distributed;
mod simulate;
mod support;
