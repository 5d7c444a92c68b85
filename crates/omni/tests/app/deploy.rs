//! Checks of `deploy/` that need no container engine: every YAML file
//! parses; the compose file and the Kubernetes manifests run every part as a
//! real `omni` subcommand, on the ports its environment configures, probed
//! on the gRPC health service; each part's configuration and environment
//! load with the real configuration loader (no unknown key or variable, and
//! the email, sms and webhook parts' sections checked as those parts check them);
//! secrets come from a Kubernetes Secret or the environment compose runs
//! in, never from the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use omni_core::config::Config;
use secrecy::ExposeSecret;
use serde_json::Value;

pub(crate) fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

pub(crate) fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

pub(crate) fn k8s() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir().join("k8s"))
        .expect("deploy/k8s exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for doc in documents(&file) {
            docs.push((name.clone(), doc));
        }
    }
    docs
}

/// The subcommands `omni --help` lists.
fn subcommands() -> Vec<String> {
    let out = crate::support::omni()
        .arg("--help")
        .output()
        .expect("omni runs");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The parts, as `omni <part>` and as the Services other parts reach.
const PARTS: [&str; 7] = [
    "chat", "context", "desk", "email", "router", "sms", "webhook",
];

/// Whether a variable holds a secret, which must come from outside the
/// files: a Kubernetes Secret, or the environment docker compose runs in.
fn is_secret(name: &str) -> bool {
    ["_TOKEN", "_PASSWORD", "_SECRET", "_KEY"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// A value for a variable the files leave to the operator (a Secret, or
/// the environment compose runs in): any value of the right form, so the
/// loader still checks the variable's name and the rest of the section.
fn stand_in(name: &str) -> String {
    match name {
        "OMNI_EMAIL_RELAY" => "smtp://relay.example.net:25",
        "OMNI_SMS_FROM" => "+14155550199",
        "OMNI_SMS_PUBLIC_URL" => "https://sms.example.net",
        "OMNI_WEBHOOK_OUTBOUND_URL" => "https://app.example.net/replies",
        _ => "set-by-the-operator",
    }
    .to_owned()
}

/// The listener each part serves besides gRPC, by port name: what its
/// container must expose and its Service or compose service publish.
fn own_ports(part: &str, config: &Config) -> Vec<(&'static str, u16)> {
    let listen = &config.listen;
    match part {
        "chat" => vec![
            ("chat", listen.chat.port()),
            ("metrics", listen.metrics.port()),
        ],
        "desk" => vec![
            ("desk", listen.desk.port()),
            ("metrics", listen.metrics.port()),
        ],
        "email" => vec![
            ("smtp", listen.smtp.port()),
            ("metrics", listen.metrics.port()),
        ],
        "sms" => vec![
            ("sms", listen.sms.port()),
            ("metrics", listen.metrics.port()),
        ],
        "webhook" => vec![
            ("webhook", config.webhook.listen.port()),
            ("metrics", listen.metrics.port()),
        ],
        _ => vec![("metrics", listen.metrics.port())],
    }
}

/// Checks what a channel adapter's configuration must say for its part to
/// run: its section is enabled, so `omni` checks it at start.
fn check_adapter(what: &str, part: &str, config: &Config) {
    match part {
        "email" => assert!(
            config.email.enabled,
            "{what}: OMNI_EMAIL_ENABLED, so the email section is checked at start"
        ),
        "sms" => assert!(
            config.sms.enabled,
            "{what}: OMNI_SMS_ENABLED, so the sms section is checked at start"
        ),
        "webhook" => assert!(
            config.webhook.enabled && config.webhook.outbound_url.starts_with("https://"),
            "{what}: OMNI_WEBHOOK_ENABLED, so the webhook section is checked at start, and an https:// outbound URL"
        ),
        _ => {}
    }
}

/// Loads `toml` plus `env` with the real loader, as `omni` would.
fn load(toml: &str, env: &BTreeMap<String, String>) -> Config {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, toml).expect("write config");
    Config::load(&path, env).unwrap_or_else(|e| panic!("shipped configuration: {e}"))
}

#[test]
fn kubernetes_manifests_run_real_subcommands_on_configured_ports() {
    let docs = k8s();
    let subcommands = subcommands();
    assert!(
        subcommands.contains(&"router".to_owned()),
        "{subcommands:?}"
    );

    let config_map = |name: &str| {
        docs.iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("ConfigMap {name}"))["data"]
            .clone()
    };
    let env: BTreeMap<String, String> = config_map("omniroute-env")
        .as_object()
        .expect("env data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let toml = config_map("omniroute-config")["omniroute.toml"]
        .as_str()
        .expect("omniroute.toml in the ConfigMap")
        .to_owned();
    let config = load(&toml, &env);
    assert_eq!(
        env["OMNI_CONFIG"], "/etc/omniroute/omniroute.toml",
        "the file is mounted where OMNI_CONFIG says"
    );
    // No secret in the ConfigMaps: every part shares them.
    for name in env.keys() {
        assert!(!is_secret(name), "{name} is in the ConfigMap omniroute-env");
    }
    assert!(
        [
            &config.sms.twilio.auth_token,
            &config.sms.kannel.password,
            &config.sms.kannel.secret
        ]
        .iter()
        .all(|s| s.expose_secret().is_empty())
            && config.email.relay_password.is_none(),
        "the configuration file in the ConfigMap holds a secret"
    );

    let mut parts = Vec::new();
    for (file, doc) in docs.iter().filter(|(_, d)| d["kind"] == "Deployment") {
        let container = &doc["spec"]["template"]["spec"]["containers"][0];
        let part = container["args"][0].as_str().unwrap_or_default().to_owned();
        assert!(
            subcommands.contains(&part),
            "{file}: `omni {part}` is not a subcommand ({subcommands:?})"
        );
        assert_eq!(
            container["envFrom"][0]["configMapRef"]["name"], "omniroute-env",
            "{file}: the shared environment"
        );
        // The container's own variables over the shared ones, as Kubernetes
        // sets them; a secret only from a Secret.
        let mut env = env.clone();
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().unwrap_or_default().to_owned();
            let value = match var["value"].as_str() {
                Some(value) => {
                    assert!(
                        !is_secret(&name),
                        "{file}: {name} is a secret: take it from a Secret (valueFrom.secretKeyRef)"
                    );
                    value.to_owned()
                }
                None => {
                    let secret = &var["valueFrom"]["secretKeyRef"];
                    assert!(
                        secret["name"].is_string() && secret["key"].is_string(),
                        "{file}: {name} has a value or a secretKeyRef"
                    );
                    stand_in(&name)
                }
            };
            env.insert(name, value);
        }
        let config = load(&toml, &env);
        check_adapter(file, &part, &config);
        let ports: BTreeMap<String, u64> = container["ports"]
            .as_array()
            .expect("container ports")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["containerPort"].as_u64().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            ports["grpc"],
            u64::from(config.listen.grpc.port()),
            "{file}"
        );
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(
                container[probe]["grpc"]["port"].as_u64(),
                Some(u64::from(config.listen.grpc.port())),
                "{file}: {probe} asks the gRPC health service"
            );
        }
        let expected = own_ports(&part, &config);
        for (name, port) in &expected {
            assert_eq!(
                ports.get(*name),
                Some(&u64::from(*port)),
                "{file}: {name} port"
            );
        }
        assert!(
            container["resources"]["requests"]["cpu"].is_string()
                && container["resources"]["requests"]["memory"].is_string(),
            "{file}: resource requests"
        );
        // A Service exposes the Deployment under the name other parts use,
        // on its gRPC port and its own.
        let service = docs
            .iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == part.as_str())
            .unwrap_or_else(|| panic!("{file}: a Service named {part}"));
        assert_eq!(
            service["spec"]["selector"], doc["spec"]["selector"]["matchLabels"],
            "{file}: the Service selects the Deployment"
        );
        for name in std::iter::once("grpc").chain(expected.iter().map(|(name, _)| *name)) {
            assert!(
                service["spec"]["ports"].as_array().is_some_and(|p| p
                    .iter()
                    .any(|p| p["name"] == name && p["targetPort"] == name)),
                "{file}: the Service exposes the {name} port"
            );
        }
        parts.push(part);
    }
    parts.sort();
    assert_eq!(parts, PARTS);
    for (url, service) in [
        (&config.connect.context, "context"),
        (&config.connect.router, "router"),
    ] {
        let url = url.as_deref().unwrap_or_default();
        assert_eq!(
            url,
            format!("http://{service}:{}", config.listen.grpc.port()),
            "parts reach the {service} Service"
        );
    }
    assert!(config.nats.url.expose_secret().starts_with("nats://nats:"));
    assert!(
        config
            .redis
            .url
            .expose_secret()
            .starts_with("redis://redis:")
    );
    for server in ["nats", "redis"] {
        assert!(
            docs.iter()
                .any(|(_, d)| d["kind"] == "StatefulSet" && d["metadata"]["name"] == server),
            "{server} StatefulSet"
        );
    }
    let kustomization = documents(&deploy_dir().join("k8s/kustomization.yaml"));
    let listed: Vec<&str> = kustomization[0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for file in docs.iter().map(|(f, _)| f.as_str()) {
        assert!(
            file == "kustomization.yaml" || listed.contains(&file),
            "{file} is in kustomization.yaml"
        );
    }
}

#[test]
fn compose_file_runs_every_part_against_nats_and_redis() {
    let compose = documents(&deploy_dir().join("compose.yaml"))
        .pop()
        .expect("one document");
    let services = compose["services"].as_object().expect("services");
    let subcommands = subcommands();
    let sample = std::fs::read_to_string(deploy_dir().join("../config/omniroute.toml"))
        .expect("sample config");
    for part in PARTS {
        let service = &services[part];
        let command = service["command"][0].as_str().unwrap_or_default();
        assert_eq!(command, part);
        assert!(subcommands.contains(&part.to_owned()));
        // What the container gets: a variable without a value comes from
        // the environment docker compose runs in; a secret only so.
        let env: BTreeMap<String, String> = service["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("{part}: environment (from the x-omni anchor)"))
            .iter()
            .filter(|(k, _)| k.as_str() != "OMNI_CONFIG")
            .map(|(k, v)| {
                let value = match v {
                    Value::Null => stand_in(k),
                    Value::String(value) => {
                        assert!(
                            !is_secret(k),
                            "{part}: {k} is a secret: leave its value to the environment"
                        );
                        value.clone()
                    }
                    other => panic!("{part}: {k} is {other}, not a string"),
                };
                (k.clone(), value)
            })
            .collect();
        let config = load(&sample, &env);
        check_adapter(part, part, &config);
        assert_eq!(
            config.connect.context.as_deref(),
            Some("http://context:7070")
        );
        assert_eq!(config.nats.url.expose_secret(), "nats://nats:4222");
        assert_eq!(config.redis.url.expose_secret(), "redis://redis:6379");
        let probe: Vec<&str> = service["healthcheck"]["test"]
            .as_array()
            .expect("healthcheck")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let grpc = format!("127.0.0.1:{}", config.listen.grpc.port());
        assert_eq!(
            probe,
            ["CMD", "omni", "probe", "--grpc", grpc.as_str()],
            "{part}: gRPC health probe"
        );
        assert!(subcommands.contains(&"probe".to_owned()));
        // The customer- and agent-facing listeners are published on the
        // host, on the port the part listens on.
        let published: Vec<&str> = service["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (name, port) in own_ports(part, &config)
            .into_iter()
            .filter(|(name, _)| *name != "metrics")
        {
            assert!(
                published
                    .iter()
                    .any(|p| p.rsplit(':').next() == Some(port.to_string().as_str())),
                "{part}: publishes its {name} port {port}: {published:?}"
            );
        }
        // The adapters need settings only the operator has: they run when
        // their profile is asked for.
        if matches!(part, "email" | "sms" | "webhook") {
            assert_eq!(service["profiles"], serde_json::json!([part]), "{part}");
        }
    }
    assert!(
        services["redis"]["command"]
            .as_array()
            .is_some_and(|c| c.iter().any(|a| a == "always")),
        "redis fsyncs every write"
    );
    assert!(
        services["nats"]["command"]
            .as_array()
            .is_some_and(|c| c.iter().any(|a| a == "-js")),
        "nats runs JetStream"
    );
}
