//! The one place tests find Python 3: the SMTP sink runs `aiosmtpd` with
//! it, and the test clients send mail with its `smtplib`.

use std::io;
use std::process::{Command, Stdio};

/// The interpreters tried, in order: Debian's, which has the packages
/// `scripts/test` installs (a virtualenv first on `PATH` may lack them),
/// then `python3` on `PATH`.
const CANDIDATES: &[&str] = &["/usr/bin/python3", "python3"];

/// The first Python 3 that can import `module`; the error says how to
/// install it.
pub fn python3_with(module: &str) -> io::Result<&'static str> {
    CANDIDATES
        .iter()
        .copied()
        .find(|python| {
            Command::new(python)
                .args(["-c", &format!("import {module}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no python3 that can import {module}: install python3 (and python3-{module} if it is a package) with apt-get (scripts/test does)"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_python_with_the_standard_library_and_names_a_missing_module() {
        assert!(python3_with("smtplib").is_ok());
        let err = python3_with("no_such_module_here").unwrap_err();
        assert!(err.to_string().contains("no_such_module_here"), "{err}");
    }
}
