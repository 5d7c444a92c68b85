//! `omni user` as an operator runs it: accounts added, listed, given a
//! password (read from stdin, never from the arguments) and disabled on the
//! embedded store; a clear error naming the data directory while a running
//! omni holds it; and the first start without accounts says how to make one.

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Output, Stdio};

use crate::cli::{interrupt, sign_in_http, start_embedded};
use crate::support::{omni, sample, succeeded};

/// The password these tests set.
pub(crate) const PASSWORD: &str = "operator's long password";

/// `omni user ARGS` on the sample configuration with data in `data_dir`,
/// with `stdin` written to its standard input.
pub(crate) fn omni_user(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = omni()
        .arg("--config")
        .arg(sample())
        .env("OMNI_DATA_DIR", data_dir)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Adds `id` with `role` and sets its password to [`PASSWORD`].
pub(crate) fn add_with_password(data_dir: &Path, id: &str, role: &str) {
    succeeded(&omni_user(data_dir, &["add", id, "--role", role], ""));
    succeeded(&omni_user(
        data_dir,
        &["set-password", id, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn accounts_are_added_listed_given_a_password_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = succeeded(&omni_user(data, &["list"], ""));
    assert!(out.contains("no accounts"), "{out}");

    add_with_password(data, "root", "admin");
    let out = succeeded(&omni_user(
        data,
        &["add", "sam", "--role", "supervisor", "--name", "Sam Lee"],
        "",
    ));
    assert!(out.contains("added sam (supervisor)"), "{out}");
    let list = succeeded(&omni_user(data, &["list"], ""));
    let root = list
        .lines()
        .find(|l| l.starts_with("root "))
        .expect("root listed");
    assert!(
        root.contains("admin") && root.contains("set") && root.contains("enabled"),
        "{list}"
    );
    let sam = list
        .lines()
        .find(|l| l.starts_with("sam "))
        .expect("sam listed");
    assert!(
        sam.contains("supervisor") && sam.contains("none") && sam.contains("Sam Lee"),
        "{list}"
    );
    assert!(
        !list.contains(PASSWORD) && !list.contains("argon2"),
        "{list}"
    );

    let out = omni_user(data, &["add", "root", "--role", "agent"], "");
    assert!(
        !out.status.success() && stderr(&out).contains("already exists"),
        "{}",
        stderr(&out)
    );
    let out = omni_user(data, &["add", "x", "--role", "root"], "");
    assert!(
        !out.status.success() && stderr(&out).contains("unknown role"),
        "{}",
        stderr(&out)
    );
    let out = omni_user(
        data,
        &["set-password", "sam", "--password-stdin"],
        "short\n",
    );
    assert!(
        !out.status.success() && stderr(&out).contains("at least 10 characters"),
        "{}",
        stderr(&out)
    );
    // Without --password-stdin, a password comes only from a terminal.
    let out = omni_user(data, &["set-password", "sam"], "from a pipe\n");
    assert!(
        !out.status.success() && stderr(&out).contains("--password-stdin"),
        "{}",
        stderr(&out)
    );
    let out = omni_user(
        data,
        &["set-password", "nobody", "--password-stdin"],
        "long enough password\n",
    );
    assert!(
        !out.status.success() && stderr(&out).contains("no account nobody"),
        "{}",
        stderr(&out)
    );

    succeeded(&omni_user(data, &["disable", "sam"], ""));
    let list = succeeded(&omni_user(data, &["list"], ""));
    assert!(
        list.lines()
            .any(|l| l.starts_with("sam ") && l.contains("disabled")),
        "{list}"
    );
}

#[test]
fn a_running_omni_holding_the_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_with_password(&data, "alice", "agent");
    let mut child = start_embedded(&data, Stdio::null());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let desk = crate::support::desk_address(&mut lines);
    let out = omni_user(&data, &["list"], "");
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&data.display().to_string()) && err.contains("running omni"),
        "{err}"
    );
    // The account made before the start signs in with its password.
    let (token, csrf) = sign_in_http(&desk.expect("desk address"), "alice", PASSWORD);
    assert!(token.len() == 64 && csrf.len() == 64, "{token} {csrf}");
    interrupt(&child);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_start_without_accounts_says_how_to_make_the_first() {
    let log = crate::cli::log_written_to_a_file();
    assert!(
        log.contains("no accounts yet") && log.contains("omni user add"),
        "{log}"
    );
}
