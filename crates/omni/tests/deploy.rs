//! Checks of `deploy/` that need no container engine: every YAML file
//! parses; the compose file and the Kubernetes manifests run real `omni`
//! subcommands, on the ports their environment configures, probed on the
//! gRPC health service; the shipped configuration and environment load with
//! the real configuration loader (no unknown key or variable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use omni_core::config::Config;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn k8s() -> Vec<(String, Value)> {
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
    let out = Command::new(env!("CARGO_BIN_EXE_omni"))
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

    let mut parts = Vec::new();
    for (file, doc) in docs.iter().filter(|(_, d)| d["kind"] == "Deployment") {
        let container = &doc["spec"]["template"]["spec"]["containers"][0];
        let part = container["args"][0].as_str().unwrap_or_default().to_owned();
        assert!(
            subcommands.contains(&part),
            "{file}: `omni {part}` is not a subcommand ({subcommands:?})"
        );
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
        let expected = match part.as_str() {
            "chat" => Some(("chat", config.listen.chat.port())),
            "desk" => Some(("desk", config.listen.desk.port())),
            _ => Some(("metrics", config.listen.metrics.port())),
        };
        if let Some((name, port)) = expected {
            assert_eq!(
                ports.get(name),
                Some(&u64::from(port)),
                "{file}: {name} port"
            );
        }
        assert!(
            container["resources"]["requests"]["cpu"].is_string()
                && container["resources"]["requests"]["memory"].is_string(),
            "{file}: resource requests"
        );
        // A Service exposes the Deployment under the name other parts use.
        let service = docs
            .iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == part.as_str())
            .unwrap_or_else(|| panic!("{file}: a Service named {part}"));
        assert_eq!(
            service["spec"]["selector"], doc["spec"]["selector"]["matchLabels"],
            "{file}: the Service selects the Deployment"
        );
        parts.push(part);
    }
    parts.sort();
    assert_eq!(parts, ["chat", "context", "desk", "router"]);
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
    assert!(config.nats.url.starts_with("nats://nats:"));
    assert!(config.redis.url.starts_with("redis://redis:"));
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
    for part in ["context", "router", "chat", "desk"] {
        let service = &services[part];
        let command = service["command"][0].as_str().unwrap_or_default();
        assert_eq!(command, part);
        assert!(subcommands.contains(&part.to_owned()));
        let env: BTreeMap<String, String> = service["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("{part}: environment (from the x-omni anchor)"))
            .iter()
            .filter(|(k, _)| k.as_str() != "OMNI_CONFIG")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let config = load(&sample, &env);
        assert_eq!(
            config.connect.context.as_deref(),
            Some("http://context:7070")
        );
        assert_eq!(config.nats.url, "nats://nats:4222");
        assert_eq!(config.redis.url, "redis://redis:6379");
        let probe: Vec<&str> = service["healthcheck"]["test"]
            .as_array()
            .expect("healthcheck")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            probe[..3],
            ["CMD", "omni", "probe"],
            "{part}: gRPC health probe"
        );
        assert!(subcommands.contains(&"probe".to_owned()));
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
