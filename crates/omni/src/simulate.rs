//! `omni simulate`: runs a scenario through the routing core in virtual time
//! and prints service level, speed of answer, waiting, abandonment and
//! occupancy; optionally writes the report as JSON and CSV.
//!
//! Exit codes: 0 done, 2 the scenario file is missing or invalid (the message
//! names the key), 1 the run or writing a report failed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use omni_sim::{Progress, Report, Scenario};

/// The longest silence between progress lines, and the shortest gap.
const PROGRESS_GAP: Duration = Duration::from_millis(500);

/// Options of `omni simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML); see docs/simulator.md.
    #[arg(default_value = "config/simulate.toml")]
    pub scenario: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write the report as CSV to this file.
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Use this seed instead of the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Why `omni simulate` failed, and its exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

/// Runs `omni simulate`: the report goes to stdout, progress and errors to
/// stderr.
pub fn run(args: &SimulateArgs) -> ExitCode {
    let mut stderr = std::io::stderr();
    match simulate(args, &mut stderr) {
        Ok(report) => {
            print!("{}", report.to_text());
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("omni simulate: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Loads, runs and writes the optional files; progress lines go to
/// `progress_out` (at most two a second, none for runs under half a second).
fn simulate(args: &SimulateArgs, progress_out: &mut dyn Write) -> Result<Report, Failure> {
    let mut scenario = Scenario::load(&args.scenario).map_err(|e| Failure {
        code: 2,
        message: e.to_string(),
    })?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let started = Instant::now();
    let mut last_line = started;
    let quiet = args.quiet;
    let mut on_progress = |p: &Progress| {
        let now = Instant::now();
        if quiet || now.duration_since(last_line) < PROGRESS_GAP {
            return;
        }
        last_line = now;
        // Progress is best effort: a closed stderr must not stop the run.
        let _ = writeln!(
            progress_out,
            "simulating: {:>3.0}% of virtual time, {} contacts, {:.1} s",
            p.fraction() * 100.0,
            p.contacts,
            now.duration_since(started).as_secs_f64()
        );
    };
    let report = omni_sim::run(&scenario, &mut on_progress).map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    if let Some(path) = &args.json {
        write_file(path, &report.to_json())?;
    }
    if let Some(path) = &args.csv {
        write_file(path, &report.to_csv())?;
    }
    Ok(report)
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure {
        code: 1,
        message: format!("cannot write {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        duration_secs = 36000
        warmup_secs = 600
        seed = 3
        [[queues]]
        id = "sales"
        arrivals_per_hour = 100
        handle_time = { distribution = "exponential", mean_secs = 120 }
        [[agents]]
        group = "team"
        count = 5
        capacity = { chat = 1 }
    "#;

    fn args(scenario: PathBuf) -> SimulateArgs {
        SimulateArgs {
            scenario,
            json: None,
            csv: None,
            seed: None,
            quiet: false,
        }
    }

    #[test]
    fn bad_scenarios_fail_with_code_2_naming_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, SMALL.replace("count = 5", "count = 0")).expect("write");
        let failure = simulate(&args(path), &mut Vec::new()).expect_err("invalid");
        assert_eq!(failure.code, 2);
        assert!(
            failure.message.contains("agents[0].count"),
            "{}",
            failure.message
        );

        let missing =
            simulate(&args(dir.path().join("none.toml")), &mut Vec::new()).expect_err("missing");
        assert_eq!(missing.code, 2);
        assert!(missing.message.contains("none.toml"), "{}", missing.message);
    }

    #[test]
    fn writes_json_and_csv_and_honours_the_seed_override() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("small.toml");
        std::fs::write(&path, SMALL).expect("write");
        let mut a = args(path.clone());
        a.json = Some(dir.path().join("out.json"));
        a.csv = Some(dir.path().join("out.csv"));
        let report = simulate(&a, &mut Vec::new()).expect("runs");
        let json = std::fs::read_to_string(dir.path().join("out.json")).expect("json");
        assert_eq!(json, report.to_json());
        assert!(json.contains("\"id\": \"sales\""), "{json}");
        let csv = std::fs::read_to_string(dir.path().join("out.csv")).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "header, queue, group, overall: {csv}");
        assert!(lines[1].starts_with("queue,sales,chat,"), "{csv}");
        let columns = lines[0].split(',').count();
        for line in &lines[1..] {
            assert_eq!(line.split(',').count(), columns, "{line}");
        }

        let mut other = args(path);
        other.seed = Some(4);
        let reseeded = simulate(&other, &mut Vec::new()).expect("runs");
        assert_eq!(reseeded.seed, 4);
        assert_ne!(reseeded.contacts, report.contacts);
    }

    #[test]
    fn unwritable_output_fails_with_code_1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("small.toml");
        std::fs::write(&path, SMALL).expect("write");
        let mut a = args(path);
        a.json = Some(dir.path().join("no/such/dir/out.json"));
        let failure = simulate(&a, &mut Vec::new()).expect_err("unwritable");
        assert_eq!(failure.code, 1);
        assert!(failure.message.contains("out.json"), "{}", failure.message);
    }
}
