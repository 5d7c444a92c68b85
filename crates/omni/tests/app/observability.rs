//! The observability files of `deploy/` against the real tools: `promtool`
//! checks the scrape configurations and the alert rules and runs the
//! rules' unit tests (`deploy/alerts_test.yml`); the collector's pipeline
//! and the Grafana dashboard are complete and name only documented
//! metrics; and a real Prometheus, configured from the shipped scrape
//! configuration with the targets rewritten to a cluster's ports, scrapes
//! every part of a distributed deployment, sees its traffic, and runs the
//! shipped alert rules on it. There every part asks for a bearer token on
//! `/metrics` (`OMNI_METRICS_TOKEN`): a scrape without it is refused with
//! 401, and Prometheus scrapes with the `authorization` block the shipped
//! file shows.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use omni::Part;
use omni_testkit::actors::Customer;
use omni_testkit::providers::{email_and_sms_env, twilio_account};
use omni_testkit::twilio::FakeTwilio;
use omni_testkit::{Cluster, HttpClient};
use omni_testservers::prometheus::{Prometheus, promtool};
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use crate::deploy::{deploy_dir, documents, k8s};
use crate::support::{binary, blocking, sample};

/// How long Prometheus may take to scrape what the test waits for (its
/// scrape interval is 1 s here).
const SCRAPED: Duration = Duration::from_secs(60);

/// `promtool ARGS` in `deploy/`, which must succeed; its output.
fn promtool_ok(dir: &Path, args: &[&str]) -> String {
    let out = promtool(dir, args).expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {}: {text}", args.join(" "));
    text
}

fn yaml(name: &str) -> Value {
    documents(&deploy_dir().join(name))
        .pop()
        .unwrap_or_else(|| panic!("{name}: one document"))
}

/// The alert names of `deploy/alerts.yml`.
fn alert_names() -> Vec<String> {
    yaml("alerts.yml")["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn promtool_accepts_the_scrape_configs_rules_and_rule_tests() {
    let dir = deploy_dir();
    let config = promtool_ok(&dir, &["check", "config", "prometheus.yml"]);
    assert!(config.contains("1 rule files found"), "{config}");
    let rules = promtool_ok(&dir, &["check", "rules", "alerts.yml"]);
    assert!(
        rules.contains(&format!("{} rules found", alert_names().len())),
        "{rules}"
    );
    promtool_ok(&dir, &["test", "rules", "alerts_test.yml"]);

    // Every alert is unit-tested both ways (fires, and stays quiet), and
    // docs/operations.md says what to do when it fires (its runbook).
    let tests = yaml("alerts_test.yml");
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
        .collect();
    let operations =
        std::fs::read_to_string(dir.join("../docs/operations.md")).expect("docs/operations.md");
    for alert in alert_names() {
        let of_it = || cases.iter().filter(|c| c["alertname"] == alert.as_str());
        assert!(
            of_it().any(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty())),
            "{alert}: a test where it fires"
        );
        assert!(
            of_it().any(|c| c["exp_alerts"].as_array().is_some_and(Vec::is_empty)),
            "{alert}: a test where it does not"
        );
        assert!(
            operations.contains(&format!("### {alert}")),
            "docs/operations.md has a section {alert}"
        );
    }

    // The Kubernetes variant: Debian's Prometheus is built without
    // Kubernetes discovery, so promtool checks the rest of it (the
    // relabelling that finds the metrics port) with static targets instead.
    let mut k8s_config = yaml("prometheus-k8s.yml");
    let job = &mut k8s_config["scrape_configs"][0];
    assert_eq!(job["job_name"], "omniroute", "the job alerts.yml names");
    assert_eq!(job["kubernetes_sd_configs"][0]["role"], "pod");
    let relabel = job["relabel_configs"].clone();
    let object = job.as_object_mut().expect("a scrape config");
    object.remove("kubernetes_sd_configs");
    object.insert(
        "static_configs".into(),
        json!([{ "targets": ["10.0.0.1:7070"] }]),
    );
    let checked = tempfile::tempdir().expect("temp dir");
    std::fs::copy(dir.join("alerts.yml"), checked.path().join("alerts.yml")).expect("copy");
    std::fs::write(
        checked.path().join("prometheus.yml"),
        serde_json::to_string_pretty(&k8s_config).expect("json"),
    )
    .expect("write");
    promtool_ok(checked.path(), &["check", "config", "prometheus.yml"]);
    // It keeps what the Deployments annotate, and takes the port and path
    // from the annotations they set.
    let relabel = relabel.to_string();
    for annotation in ["scrape", "port", "path"] {
        let meta = format!("__meta_kubernetes_pod_annotation_prometheus_io_{annotation}");
        assert!(relabel.contains(&meta), "relabels by {meta}");
    }
    let annotated = k8s()
        .into_iter()
        .filter(|(_, d)| d["kind"] == "Deployment")
        .all(|(_, d)| {
            d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        });
    assert!(annotated, "every Deployment asks to be scraped");
}

/// The metric names PromQL `expr` reads: Omniroute's (`omni_...`) and the
/// process collector's, without a histogram's `_bucket` suffix.
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("omni_") || w.starts_with("process_"))
        .map(|w| w.strip_suffix("_bucket").unwrap_or(w).to_owned())
        .collect()
}

/// The dashboard's queries, with Grafana's variables replaced by values
/// Prometheus accepts.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy_dir().join("grafana/omniroute.json"))
        .expect("deploy/grafana/omniroute.json");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{title}: the dashboard's data source"
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: a query");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            let expr = expr
                .replace("$__rate_interval", "1m")
                .replace("$__range", "1h")
                .replace("$queue", ".*");
            queries.push((title.clone(), expr));
        }
    }
    queries
}

#[test]
fn collector_dashboard_and_alerts_are_complete_and_documented() {
    // The collector: OTLP in over gRPC and HTTP, every pipeline component
    // defined, traces out.
    let collector = yaml("otel-collector.yaml");
    for protocol in ["grpc", "http"] {
        assert!(
            collector["receivers"]["otlp"]["protocols"][protocol].is_object(),
            "OTLP over {protocol}"
        );
    }
    let traces = &collector["service"]["pipelines"]["traces"];
    for kind in ["receivers", "processors", "exporters"] {
        let used = traces[kind].as_array().expect(kind);
        assert!(!used.is_empty(), "traces pipeline {kind}");
        for name in used.iter().filter_map(Value::as_str) {
            assert!(
                collector[kind].get(name).is_some(),
                "{kind}.{name} is defined"
            );
        }
    }
    assert!(
        traces["processors"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "batch"))
    );

    // Grafana finds the data source the dashboard asks for.
    let datasources = yaml("grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(datasources["datasources"][0]["uid"], "prometheus");
    let text =
        std::fs::read_to_string(deploy_dir().join("grafana/omniroute.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("JSON");
    let variable = dashboard["templating"]["list"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["name"] == "datasource"))
        .expect("a datasource variable");
    assert_eq!(variable["query"], "prometheus");
    assert_eq!(variable["current"]["value"], "prometheus");
    let provider = yaml("grafana/provisioning/dashboards/omniroute.yaml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("path");
    let compose = std::fs::read_to_string(deploy_dir().join("compose.yaml")).expect("compose");
    assert!(
        compose.contains(&format!("./grafana/omniroute.json:{path}/omniroute.json")),
        "compose mounts the dashboard where the provider reads"
    );

    // Every metric the dashboard and the alerts read is documented.
    let operations = std::fs::read_to_string(deploy_dir().join("../docs/operations.md"))
        .expect("docs/operations.md");
    let documented = metric_names(&operations);
    let mut used = BTreeSet::new();
    for (_, expr) in dashboard_queries() {
        used.extend(metric_names(&expr));
    }
    let alerts = std::fs::read_to_string(deploy_dir().join("alerts.yml")).expect("alerts");
    used.extend(metric_names(&alerts));
    let undocumented: Vec<_> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "metrics read but not in docs/operations.md: {undocumented:?}"
    );
    // ... and exported: docs/metrics.md lists every metric the parts serve.
    let metrics =
        std::fs::read_to_string(deploy_dir().join("../docs/metrics.md")).expect("docs/metrics.md");
    let exported: BTreeSet<String> = metric_names(&metrics)
        .into_iter()
        .map(|m| {
            // A histogram is documented by its family name.
            ["_sum", "_count"]
                .iter()
                .find_map(|s| m.strip_suffix(s))
                .map_or(m.clone(), str::to_owned)
        })
        .collect();
    let unknown: Vec<_> = used
        .iter()
        .filter(|m| {
            let family = ["_sum", "_count"]
                .iter()
                .find_map(|s| m.strip_suffix(s))
                .unwrap_or(m);
            !exported.contains(*m) && !exported.contains(family)
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "metrics read that no part exports (docs/metrics.md): {unknown:?}"
    );
    // The contact center's numbers are all on the dashboard.
    for metric in [
        "omni_contacts_offered_total",
        "omni_contacts_answered_total",
        "omni_contacts_abandoned_total",
        "omni_service_level_ratio",
        "omni_queue_waiting",
        "omni_wait_seconds",
        "omni_first_response_seconds",
        "omni_handle_seconds",
        "omni_bus_consumer_pending",
        "omni_grpc_requests_total",
    ] {
        assert!(used.contains(metric), "the dashboard shows {metric}");
    }
}

/// The volumes of compose service `service` as (host, container) pairs.
fn mounts(compose: &Value, service: &str) -> Vec<(String, String)> {
    compose["services"][service]["volumes"]
        .as_array()
        .unwrap_or_else(|| panic!("compose service {service} has volumes"))
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|v| {
            let mut fields = v.split(':');
            Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn compose_observability_profile_runs_the_shipped_files() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_object().expect("services");
    for name in ["otel-collector", "jaeger", "prometheus", "grafana"] {
        assert_eq!(
            services[name]["profiles"],
            json!(["observability"]),
            "{name} runs with the observability profile"
        );
    }
    // Prometheus reads the shipped configuration, and the rule files it
    // names beside it.
    let prometheus = mounts(&compose, "prometheus");
    let config = prometheus
        .iter()
        .find(|(host, _)| host == "./prometheus.yml")
        .map(|(_, c)| c.clone())
        .expect("prometheus.yml mounted");
    assert!(
        services["prometheus"]["command"]
            .as_array()
            .is_some_and(|c| c.iter().any(|a| *a == format!("--config.file={config}"))),
        "prometheus runs {config}"
    );
    let config_dir = Path::new(&config).parent().expect("a directory");
    for rules in yaml("prometheus.yml")["rule_files"]
        .as_array()
        .expect("rule_files")
        .iter()
        .filter_map(Value::as_str)
    {
        let at = config_dir.join(rules).display().to_string();
        assert!(
            prometheus
                .iter()
                .any(|(host, c)| *host == format!("./{rules}") && *c == at),
            "{rules} mounted at {at}"
        );
    }
    // It scrapes the parts by the names compose gives them.
    let scraped = yaml("prometheus.yml")["scrape_configs"][0]["dns_sd_configs"][0]["names"].clone();
    for name in scraped
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
    {
        assert!(services.contains_key(name), "{name} is a compose service");
    }
    // The collector runs the shipped configuration and forwards to a
    // service of the file.
    let collector = mounts(&compose, "otel-collector");
    let config = collector
        .iter()
        .find(|(host, _)| host == "./otel-collector.yaml")
        .map(|(_, c)| c.clone())
        .expect("otel-collector.yaml mounted");
    assert!(
        services["otel-collector"]["command"]
            .as_array()
            .is_some_and(|c| c.iter().any(|a| *a == format!("--config={config}"))),
        "the collector runs {config}"
    );
    let exporter = yaml("otel-collector.yaml")["exporters"]["otlp"]["endpoint"]
        .as_str()
        .expect("the otlp exporter's endpoint")
        .to_owned();
    let backend = exporter.split(':').next().unwrap_or_default();
    assert!(
        services.contains_key(backend),
        "{backend} is a compose service"
    );
    // Every part names itself in its traces.
    let mut names = BTreeSet::new();
    for part in ["context", "router", "chat", "desk", "email", "sms"] {
        let name = services[part]["environment"]["OTEL_SERVICE_NAME"]
            .as_str()
            .unwrap_or_else(|| panic!("{part}: OTEL_SERVICE_NAME"))
            .to_owned();
        assert!(
            names.insert(name.clone()),
            "{part}: {name} is another part's"
        );
        assert!(
            services[part]["environment"]
                .as_object()
                .is_some_and(|e| e.contains_key("OTEL_EXPORTER_OTLP_ENDPOINT")),
            "{part}: OTEL_EXPORTER_OTLP_ENDPOINT (from the environment compose runs in)"
        );
    }
}

/// Every part in its own process, the email and sms adapters included.
const EVERY_PART: [Part; 6] = [
    Part::Context,
    Part::Router,
    Part::Chat,
    Part::Desk,
    Part::Email,
    Part::Sms,
];

/// The shipped `deploy/prometheus.yml` for a test: the same job, metrics
/// path and relabelling, each part's DNS name replaced by its process's
/// metrics address (labelled with the part, as the relabelling would),
/// scraped every second, with `deploy/alerts.yml` loaded.
pub(crate) fn scrape_config_for(cluster: &Cluster, parts: &[Part]) -> String {
    let mut config = yaml("prometheus.yml");
    config["global"]["scrape_interval"] = json!("1s");
    config["global"]["evaluation_interval"] = json!("1s");
    let rules: Vec<String> = config["rule_files"]
        .as_array()
        .expect("rule_files")
        .iter()
        .filter_map(Value::as_str)
        .map(|f| deploy_dir().join(f).display().to_string())
        .collect();
    config["rule_files"] = json!(rules);
    for job in config["scrape_configs"]
        .as_array_mut()
        .expect("scrape_configs")
    {
        let object = job.as_object_mut().expect("a scrape config");
        let Some(dns) = object.remove("dns_sd_configs") else {
            continue;
        };
        let names: Vec<&str> = dns[0]["names"]
            .as_array()
            .expect("names")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut targets = Vec::new();
        for part in parts {
            assert!(
                names.contains(&part.name()),
                "deploy/prometheus.yml scrapes the {} part",
                part.name()
            );
            targets.push(json!({
                "targets": [format!("127.0.0.1:{}", cluster.ports(*part).metrics)],
                "labels": { "part": part.name() },
            }));
        }
        object.insert("static_configs".into(), json!(targets));
    }
    serde_json::to_string_pretty(&config).expect("json")
}

/// The `authorization` block `deploy/prometheus.yml` shows in a comment
/// for parts with `OMNI_METRICS_TOKEN`, uncommented, reading the token
/// from `token_file` instead of the path it names.
fn shipped_authorization(token_file: &Path) -> Value {
    let text = std::fs::read_to_string(deploy_dir().join("prometheus.yml")).expect("read");
    // `# authorization:` and the lines indented under it.
    let mut lines = text.lines().skip_while(|l| l.trim() != "# authorization:");
    let block: Vec<String> = lines
        .next()
        .into_iter()
        .chain(lines.take_while(|l| l.trim_start().starts_with("#   ")))
        .map(|l| l.replacen("# ", "", 1))
        .collect();
    assert!(
        !block.is_empty(),
        "prometheus.yml shows an authorization block"
    );
    let mut parsed: Value = serde_saphyr::from_str(&block.join("\n")).expect("the block is YAML");
    let authorization = &mut parsed["authorization"];
    assert_eq!(authorization["type"], "Bearer", "{authorization}");
    assert!(
        authorization["credentials_file"].is_string(),
        "{authorization}"
    );
    authorization["credentials_file"] = json!(token_file.display().to_string());
    parsed["authorization"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_part_of_a_distributed_deployment() -> anyhow::Result<()> {
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let mut env = email_and_sms_env(&relay.url(), twilio.api_base());
    // Every part asks for a bearer token on /metrics, and Prometheus sends
    // it as the shipped scrape configuration shows.
    const TOKEN: &str = "metrics-scrape-token-0123456789";
    env.shared.push(("OMNI_METRICS_TOKEN".into(), TOKEN.into()));
    let cluster = blocking(move || env.start(binary(), &sample(), &EVERY_PART)).await?;
    for part in EVERY_PART {
        let metrics = HttpClient::new(format!("http://127.0.0.1:{}", cluster.ports(part).metrics));
        let refused = metrics.get("/metrics").await?;
        assert_eq!(refused.status, 401, "{}: {:?}", part.name(), refused.body);
        let wrong = metrics
            .with_header("authorization", "Bearer not-the-token")
            .get("/metrics")
            .await?;
        assert_eq!(wrong.status, 401, "{}", part.name());
        assert_eq!(
            metrics.get("/healthz").await?.status,
            200,
            "{}",
            part.name()
        );
    }
    let token_dir = tempfile::tempdir()?;
    let token_file = token_dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n"))?;
    let mut config: Value = serde_json::from_str(&scrape_config_for(&cluster, &EVERY_PART))?;
    config["scrape_configs"][0]["authorization"] = shipped_authorization(&token_file);
    let config = serde_json::to_string_pretty(&config)?;
    let prometheus = std::sync::Arc::new(blocking(move || Ok(Prometheus::start(&config)?)).await?);

    // Every part is scraped: up == 1 for each.
    let p = prometheus.clone();
    let up = blocking(move || {
        Ok(p.query_until(r#"up{job="omniroute"}"#, SCRAPED, |s| {
            s.len() == EVERY_PART.len() && s.iter().all(|s| s.value == 1.0)
        })?)
    })
    .await?;
    let parts: BTreeSet<&str> = up.iter().map(|s| s.labels["part"].as_str()).collect();
    let expected: BTreeSet<&str> = EVERY_PART.iter().map(|p| p.name()).collect();
    assert_eq!(parts, expected, "{up:?}");

    // A chat message is counted by the context part, and Prometheus has it.
    let (mut customer, _) = Customer::open(&cluster, None, "sales").await?;
    customer.say("Hello, is anyone there?").await?;
    let p = prometheus.clone();
    let inbound = blocking(move || {
        Ok(p.query_until(
            r#"sum by (part) (omni_inbound_messages_total{job="omniroute",channel="chat"})"#,
            SCRAPED,
            |s| s.iter().any(|s| s.value >= 1.0),
        )?)
    })
    .await?;
    assert_eq!(inbound.len(), 1, "{inbound:?}");
    assert_eq!(inbound[0].labels["part"], "context", "{inbound:?}");
    assert_eq!(inbound[0].value, 1.0, "{inbound:?}");
    // The parts wrote nothing to their data directory (OMNI_DATA_DIR):
    // in distributed mode the state is in NATS and Redis, which is why the
    // manifests can make the root filesystem read-only.
    let data_dir = cluster
        .log_path(Part::Context)
        .parent()
        .map(|d| d.join("data"))
        .expect("the cluster's directory");
    assert!(!data_dir.exists(), "{} was written", data_dir.display());

    // Every query of the dashboard is PromQL this Prometheus accepts.
    let p = prometheus.clone();
    blocking(move || {
        for (title, expr) in dashboard_queries() {
            p.query(&expr)
                .map_err(|e| anyhow::anyhow!("dashboard panel {title}: {e}"))?;
        }
        Ok(())
    })
    .await?;

    // The shipped alert rules run on what was scraped: nothing is wrong
    // (the query finds no alert, pending or firing, once the rules have
    // been evaluated after every part's first scrape: an evaluation just
    // before a part's first scrape holds a pending alert for one round).
    let p = prometheus.clone();
    blocking(move || {
        Ok(p.query_until(
            r#"ALERTS{alertname=~"OmniroutePartDown|OmnirouteCorePartMissing"}"#,
            SCRAPED,
            <[_]>::is_empty,
        )?)
    })
    .await?;

    // A part that stops is seen down, and the part-down alert, with the
    // part's label, starts its 2 minutes pending.
    let mut cluster = cluster;
    let cluster = blocking(move || {
        cluster.kill(Part::Sms)?;
        Ok(cluster)
    })
    .await?;
    let p = prometheus.clone();
    blocking(move || {
        Ok(
            p.query_until(r#"up{job="omniroute",part="sms"}"#, SCRAPED, |s| {
                s.len() == 1 && s[0].value == 0.0
            })?,
        )
    })
    .await?;
    let p = prometheus.clone();
    let pending = blocking(move || {
        Ok(p.query_until(
            // Only sms's alert: on a loaded machine another part's scrape
            // may time out for a moment and raise its own.
            r#"ALERTS{alertname="OmniroutePartDown",alertstate="pending",part="sms"}"#,
            SCRAPED,
            |s| !s.is_empty(),
        )?)
    })
    .await?;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].labels["part"], "sms", "{pending:?}");
    assert_eq!(pending[0].labels["severity"], "critical", "{pending:?}");
    drop(cluster);
    Ok(())
}
