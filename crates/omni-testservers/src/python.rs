//! The one place tests find Python 3: the SMTP sink runs `aiosmtpd` with
//! it, and the test clients send mail with its `smtplib`.

use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
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

/// A virtualenv for one of the Python examples (`examples/python-*`):
/// its `requirements` from PyPI and the Python code of `protos` (paths
/// under `proto_root`), built once per (requirements, protos) under
/// `cache` as `<name>-<hash>` (built aside, then renamed into place, so
/// tests in parallel never share a half-built one). Returns the venv and
/// the generated code's directory. Test support: panics with what failed
/// and how to fix it.
pub fn example_env(
    name: &str,
    requirements: &Path,
    proto_root: &Path,
    protos: &[&str],
    cache: &Path,
) -> (PathBuf, PathBuf) {
    let wanted = std::fs::read_to_string(requirements).expect("read requirements.txt");
    let sources: Vec<String> = protos
        .iter()
        .map(|p| std::fs::read_to_string(proto_root.join(p)).expect("read a proto"))
        .collect();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (wanted, sources).hash(&mut hasher);
    let done = cache.join(format!("{name}-{:016x}", hasher.finish()));
    if done.exists() {
        return (done.join("venv"), done.join("gen"));
    }
    std::fs::create_dir_all(cache).expect("cache dir");
    let aside = tempfile::tempdir_in(cache).expect("temp dir");
    let venv = aside.path().join("venv");
    let run = |command: &mut Command| command.output().expect("run a command");
    let out = run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    assert!(
        out.status.success(),
        "python3 -m venv failed (on Debian: apt-get install python3-venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
        ])
        .arg(requirements));
    assert!(
        out.status.success(),
        "pip could not install {} from PyPI (this test needs network access to \
         pypi.org, or a pip cache that has them):\n{}{}",
        requirements.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let gen_dir = aside.path().join("gen");
    std::fs::create_dir_all(&gen_dir).expect("gen dir");
    let out = run(Command::new(venv.join("bin/python"))
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(proto_root)
        .arg(format!("--python_out={}", gen_dir.display()))
        .args(protos));
    assert!(
        out.status.success(),
        "protoc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another test may have won the race: its copy is as good.
    let kept = aside.keep();
    if std::fs::rename(&kept, &done).is_err() {
        let _ = std::fs::remove_dir_all(&kept);
    }
    (done.join("venv"), done.join("gen"))
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
