//! The accuracy and cost of the built-in enrichment on the labeled set
//! (`data/labeled.tsv`) with the sample rules (`data/intents.toml`):
//! per-language and overall accuracy of sentiment (3 classes), language
//! and intent (exact, none included), the confusions, and the latency of
//! one `enrich` call (p50, p99). Run with
//! `cargo bench -p omni-enrich --bench accuracy`; set
//! `OMNI_ENRICH_MISSES=1` to list the tuning examples that were missed
//! (never the held-out ones).

use std::hint::black_box;
use std::time::{Duration, Instant};

use omni_enrich::labeled::{self, Scores};
use omni_enrich::{Enricher, SentimentLabel};

/// Times every message this many times for the latency figures.
const ROUNDS: usize = 50;

fn main() -> anyhow::Result<()> {
    let examples = labeled::examples().map_err(anyhow::Error::msg)?;
    let config = labeled::sample_config().map_err(anyhow::Error::msg)?;
    // Measured as a deployment serving these four languages runs it:
    // detection restricted to them. Detection among all of whatlang's
    // languages is measured too, for the language column alone.
    let served: Vec<String> = ["en", "es", "fr", "de"].map(String::from).to_vec();
    let unrestricted = Enricher::new(&config)?;
    let enricher = Enricher::new(&config)?.with_languages(&served)?;

    println!("machine: {}, {} cores", cpu_model(), cores());
    println!(
        "labeled set: {} messages ({} held out), {} intent rules",
        examples.len(),
        examples.iter().filter(|e| e.held_out()).count(),
        config.intents.len()
    );
    println!();

    let report = labeled::evaluate(&enricher, &examples);
    let any = labeled::evaluate(&unrestricted, &examples);
    println!(
        "| messages | n | sentiment | intent | language (en, es, fr, de) | language (any of {}) |",
        omni_enrich::detectable_languages().count()
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (lang, scores) in &report.by_language {
        row(lang, scores, &any.by_language[lang]);
    }
    row("all", &report.all, &any.all);
    row("held out", &report.held_out, &any.held_out);
    println!();

    println!("sentiment confusion (rows: labeled, columns: found)");
    let labels = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];
    println!("| labeled \\ found | negative | neutral | positive |");
    println!("|---|---:|---:|---:|");
    for want in labels {
        let cells: Vec<String> = labels
            .iter()
            .map(|got| {
                report
                    .sentiment_confusion
                    .get(&(want, *got))
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            })
            .collect();
        println!("| {want} | {} |", cells.join(" | "));
    }
    println!();
    println!("intent confusions (labeled -> found: count; - is none)");
    let mut confusions: Vec<_> = report.intent_confusion.iter().collect();
    confusions.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for ((want, got), n) in confusions {
        println!("  {want} -> {got}: {n}");
    }
    println!();

    if std::env::var_os("OMNI_ENRICH_MISSES").is_some() {
        println!("missed tuning examples:");
        for (id, what, want, got) in &report.misses {
            let text = examples
                .iter()
                .find(|e| e.id == *id)
                .map_or("", |e| e.text.as_str());
            println!("  {id} {what}: want {want}, got {got}: {text}");
        }
        println!();
    }

    let (p50, p99, mean, max) = latency(&examples, |text, _| {
        black_box(enricher.enrich(black_box(text), None));
    });
    println!(
        "latency of one enrich call ({} calls, {} intent rules, detection among 4 languages, no hint): p50 {p50:.1} µs, p99 {p99:.1} µs, mean {mean:.1} µs, max {max:.1} µs",
        examples.len() * ROUNDS,
        config.intents.len(),
    );
    let mut no_detection = config.clone();
    no_detection.language = false;
    let hinted = Enricher::new(&no_detection)?;
    let (p50, p99, mean, max) = latency(&examples, |text, lang| {
        black_box(hinted.enrich(black_box(text), Some(lang)));
    });
    println!(
        "the same with detection off (the known language as hint): p50 {p50:.1} µs, p99 {p99:.1} µs, mean {mean:.1} µs, max {max:.1} µs"
    );
    Ok(())
}

/// Times `enrich` on every example `ROUNDS` times: p50, p99, mean and
/// max in microseconds.
fn latency(examples: &[labeled::Example], enrich: impl Fn(&str, &str)) -> (f64, f64, f64, f64) {
    let mut times = Vec::with_capacity(examples.len() * ROUNDS);
    for _ in 0..ROUNDS {
        for ex in examples {
            let start = Instant::now();
            enrich(&ex.text, &ex.lang);
            times.push(start.elapsed());
        }
    }
    times.sort();
    let at = |q: f64| micros(times[((times.len() - 1) as f64 * q) as usize]);
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    (at(0.5), at(0.99), micros(mean), at(1.0))
}

fn row(name: &str, s: &Scores, any: &Scores) {
    println!(
        "| {name} | {} | {} | {} | {} | {} |",
        s.sentiment.total,
        percent(s.sentiment.accuracy()),
        percent(s.intent.accuracy()),
        percent(s.language.accuracy()),
        percent(any.language.accuracy())
    );
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
