//! `omni simulate` as a planner runs it: the sample scenario runs and
//! reports every queue, a bad scenario exits 2 naming the key.

use std::path::PathBuf;

use crate::support::{config_file, omni, succeeded};

fn sample() -> PathBuf {
    config_file("simulate.toml")
}

#[test]
fn the_sample_scenario_reports_every_queue_and_group() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("report.csv");
    let out = omni()
        .arg("simulate")
        .arg(sample())
        .arg("--csv")
        .arg(&csv)
        .arg("--quiet")
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    for name in [
        "sales",
        "billing",
        "support-email",
        "generalists",
        "overall",
    ] {
        assert!(stdout.contains(name), "{name} missing from:\n{stdout}");
    }
    assert!(out.stderr.is_empty(), "--quiet prints no progress");
    let csv = std::fs::read_to_string(csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 + 3 + 1, "{csv}");
}

#[test]
fn a_bad_scenario_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(sample())
        .unwrap()
        .replace("arrivals_per_hour = 80", "arrivals_per_hour = -80");
    std::fs::write(&path, text).unwrap();
    let out = omni().arg("simulate").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("queues[1].arrivals_per_hour"),
        "the message names the key: {stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = omni()
        .arg("simulate")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}
