//! Sign-in cost with Argon2id at the `argon2` crate's default parameters:
//! hashing a new password, checking a right and a wrong one, and the
//! dummy check an unknown account gets. Prints the figures and the machine.
//!
//! `cargo bench -p omni-accounts --bench sign_in`

use std::time::{Duration, Instant};

use omni_accounts::password;
use secrecy::SecretString;

const ROUNDS: usize = 30;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    println!("machine: {} ({} threads)", cpu_model(), threads());
    println!("argon2id m=19456 KiB, t=2, p=1 (the argon2 crate's defaults); {ROUNDS} rounds each");
    let pw = || SecretString::from("correct horse battery staple");
    let phc = match password::hash_now(&pw()) {
        Ok(phc) => phc,
        Err(e) => {
            eprintln!("hash failed: {e}");
            std::process::exit(1);
        }
    };
    password::dummy();
    runtime.block_on(async {
        report(
            "hash a new password",
            time(|| async { password::hash(pw()).await.is_ok() }).await,
        );
        report(
            "sign-in, right password",
            time(|| async { password::verify(Some(phc.clone()), pw()).await }).await,
        );
        report(
            "sign-in, wrong password",
            time(|| async {
                !password::verify(Some(phc.clone()), SecretString::from("wrong password!")).await
            })
            .await,
        );
        report(
            "sign-in, unknown account (dummy hash)",
            time(|| async { !password::verify(None, pw()).await }).await,
        );
    });
}

async fn time<F, Fut>(f: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut out = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let ok = f().await;
        out.push(start.elapsed());
        assert!(ok, "the operation gave the wrong answer");
    }
    out.sort();
    out
}

fn report(what: &str, sorted: Vec<Duration>) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    println!(
        "{what:<40} mean {:>6.1} ms  p50 {:>6.1} ms  max {:>6.1} ms",
        ms(mean),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1])
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
