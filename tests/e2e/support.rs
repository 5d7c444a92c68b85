//! Helpers shared by the end-to-end tests: the test kit's actors.

pub use omni_testkit::actors::{Agent, Customer, texts};
