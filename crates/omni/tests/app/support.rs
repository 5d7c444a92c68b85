//! What the tests of this binary share: the `omni` executable, run clean
//! of this process's `OMNI_` variables, and the repository's sample files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `omni` executable cargo built for these tests.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_omni"))
}

/// `omni` with none of this process's `OMNI_` variables (a stray one is a
/// configuration error by design).
pub fn omni() -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("OMNI_")) {
        command.env_remove(name);
    }
    command
}

/// The stdout of a run that must have succeeded; both streams show if not.
pub fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A file of the repository's `config/` directory, e.g. `omniroute.toml`.
pub fn config_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config")
        .join(name)
}

/// The sample configuration, `config/omniroute.toml`.
pub fn sample() -> PathBuf {
    config_file("omniroute.toml")
}

/// Runs blocking work (process spawns, waits) off the runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Reads an `omni` start-up banner from `lines` up to "Press Ctrl+C";
/// returns the desk's address (`host:port`) when the banner names it.
pub fn desk_address(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Option<String> {
    let mut desk = None;
    for line in lines.by_ref() {
        let line = line.expect("stdout line");
        if let Some(url) = line.trim().strip_prefix("agent desk") {
            desk = url
                .trim()
                .strip_prefix("http://")
                .map(|a| a.trim_end_matches('/').to_owned());
        }
        if line.starts_with("Press Ctrl+C") {
            break;
        }
    }
    desk
}
