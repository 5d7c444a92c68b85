//! Checks that the image and the Kubernetes manifests run as operators'
//! clusters require, read from the files (no container engine here):
//! the runtime image has CA certificates and a numbered non-root user, the
//! build context leaves `target/` and `.git` out, and every Deployment of
//! a part runs under a restricted security context, with resource
//! requests and limits, probes, Prometheus annotations on its metrics port,
//! the OpenTelemetry variables, and a PodDisruptionBudget when it runs more
//! than one replica.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::deploy::{deploy_dir, k8s};

/// The runtime stage of `deploy/Dockerfile` (after its last `FROM`), as
/// instructions with their continuation lines joined.
fn runtime_stage() -> Vec<String> {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).expect("deploy/Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    instructions.split_off(last_from)
}

/// The numeric user the image runs as.
fn image_uid() -> u32 {
    let stage = runtime_stage();
    let user = stage
        .iter()
        .filter_map(|i| i.strip_prefix("USER "))
        .next_back()
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap_or_default().trim();
    uid.parse()
        .unwrap_or_else(|_| panic!("USER {user} is a name: runAsNonRoot needs a number"))
}

#[test]
fn runtime_image_has_ca_certificates_and_a_numbered_user() {
    let stage = runtime_stage();
    assert!(
        stage.iter().any(|i| i.starts_with("RUN ")
            && i.contains("apt-get install")
            && i.split_whitespace().any(|w| w == "ca-certificates")),
        "the runtime image installs ca-certificates (TLS to Twilio, the relay): {stage:#?}"
    );
    let uid = image_uid();
    assert_ne!(uid, 0, "the image does not run as root");
    // The user exists with that number, so files it owns are its own.
    assert!(
        stage.iter().any(|i| i.starts_with("RUN ")
            && i.contains("useradd")
            && i.contains(&format!("--uid {uid}"))),
        "useradd --uid {uid} in {stage:#?}"
    );
}

/// Whether the `.dockerignore` pattern leaves `path` out of the build
/// context: `*` within one segment, `**` over any segments, a trailing `/`
/// a directory (and all under it).
fn ignores(pattern: &str, path: &str) -> bool {
    fn glob(pattern: &[&str], path: &[&str]) -> bool {
        match (pattern.split_first(), path.split_first()) {
            (None, _) => true, // a directory matched: everything under it too
            (Some((&"**", rest)), _) => (0..=path.len()).any(|skip| glob(rest, &path[skip..])),
            (Some((p, rest)), Some((s, tail))) => segment(p, s) && glob(rest, tail),
            (Some(_), None) => false,
        }
    }
    fn segment(pattern: &str, name: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == name,
            Some((head, tail)) => {
                name.starts_with(head)
                    && (head.len()..=name.len()).any(|at| segment(tail, &name[at..]))
            }
        }
    }
    let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    glob(&pattern, &path)
}

#[test]
fn docker_build_context_leaves_out_build_output_and_git() {
    let path = deploy_dir().join("../.dockerignore");
    let text = std::fs::read_to_string(&path).expect(".dockerignore at the repository root");
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        !patterns.iter().any(|p| p.starts_with('!')),
        "no exceptions: {patterns:?}"
    );
    let left_out = |path: &str| patterns.iter().any(|p| ignores(p, path));
    for path in [
        "target/release/omni",
        ".git/HEAD",
        "tests/browser/node_modules/playwright-core/package.json",
        "data/store.redb",
    ] {
        assert!(left_out(path), "{path} is sent to the build: {patterns:?}");
    }
    // What `cargo build --locked -p omni` and the runtime stage need.
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "crates/omni/src/main.rs",
        "proto/omni/context/v1/context.proto",
        "config/omniroute.toml",
        "tests/Cargo.toml",
        "tests/browser/scenario.mjs",
    ] {
        assert!(!left_out(path), "{path} is left out of the build");
    }
    // The matcher itself, on the cases the patterns rely on.
    assert!(ignores("**/target/", "crates/omni/target/debug"));
    assert!(ignores("target-*/", "target-x/debug"));
    assert!(!ignores("target/", "crates/target-notes.md"));
    assert!(!ignores("*.log", "crates/omni/x.log"));
}

/// What every part's Deployment gets from the ConfigMap `omniroute-env`.
fn shared_env(docs: &[(String, Value)]) -> BTreeMap<String, String> {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "omniroute-env")
        .and_then(|d| d["data"].as_object())
        .expect("ConfigMap omniroute-env")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[test]
fn every_part_runs_restricted_observed_and_budgeted() {
    let docs = k8s();
    let uid = image_uid();
    let shared = shared_env(&docs);
    let mut service_names = BTreeSet::new();
    let deployments: Vec<&(String, Value)> = docs
        .iter()
        .filter(|(_, d)| d["kind"] == "Deployment")
        .collect();
    assert!(deployments.len() >= 6, "every part: {}", deployments.len());
    for (file, doc) in deployments {
        let pod = &doc["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let what = format!("{file} ({})", doc["metadata"]["name"]);

        // Restricted Pod Security Standard.
        let pod_sc = &pod["securityContext"];
        assert_eq!(pod_sc["runAsNonRoot"], true, "{what}: runAsNonRoot");
        assert_eq!(pod_sc["runAsUser"], uid, "{what}: the image's user");
        assert_eq!(
            pod_sc["seccompProfile"]["type"], "RuntimeDefault",
            "{what}: seccomp"
        );
        let sc = &container["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
        assert_eq!(sc["runAsNonRoot"], true, "{what}");
        assert!(
            sc["capabilities"]["drop"]
                .as_array()
                .is_some_and(|d| d.iter().any(|c| c == "ALL")),
            "{what}: drops every capability"
        );
        assert!(
            sc["capabilities"]["add"].is_null(),
            "{what}: adds no capability"
        );
        // A read-only root needs a writable /tmp.
        let tmp = container["volumeMounts"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["mountPath"] == "/tmp"))
            .unwrap_or_else(|| panic!("{what}: /tmp mounted"));
        assert!(
            pod["volumes"].as_array().is_some_and(|v| v
                .iter()
                .any(|v| v["name"] == tmp["name"] && v["emptyDir"].is_object())),
            "{what}: /tmp is an emptyDir"
        );

        // Resources and probes.
        for (kind, key) in [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "cpu"),
            ("limits", "memory"),
        ] {
            assert!(
                container["resources"][kind][key].is_string(),
                "{what}: resources.{kind}.{key}"
            );
        }
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert!(container[probe].is_object(), "{what}: {probe}");
        }

        // Prometheus finds the metrics port by the pod's annotations.
        let annotations = &doc["spec"]["template"]["metadata"]["annotations"];
        let metrics_port = container["ports"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "metrics"))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("{what}: a metrics port"));
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{what}");
        assert_eq!(
            annotations["prometheus.io/port"],
            metrics_port.to_string(),
            "{what}: the annotation names the metrics port"
        );
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{what}");

        // OpenTelemetry: the endpoint (shared or its own) and its own name.
        let mut env = shared.clone();
        for var in container["env"].as_array().into_iter().flatten() {
            if let (Some(name), Some(value)) = (var["name"].as_str(), var["value"].as_str()) {
                env.insert(name.to_owned(), value.to_owned());
            }
        }
        let endpoint = env
            .get("OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap_or_else(|| panic!("{what}: OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert!(
            endpoint.starts_with("http://") || endpoint.starts_with("https://"),
            "{what}: an OTLP endpoint with its scheme: {endpoint}"
        );
        let service = env
            .get("OTEL_SERVICE_NAME")
            .filter(|_| {
                container["env"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|v| v["name"] == "OTEL_SERVICE_NAME"))
            })
            .unwrap_or_else(|| panic!("{what}: its own OTEL_SERVICE_NAME"));
        assert!(
            service_names.insert(service.clone()),
            "{what}: OTEL_SERVICE_NAME {service} is another part's"
        );

        // More than one replica: a budget keeps some serving in a drain.
        let replicas = doc["spec"]["replicas"].as_u64().unwrap_or(1);
        if replicas > 1 {
            let selector = &doc["spec"]["selector"]["matchLabels"];
            let budget = docs
                .iter()
                .map(|(_, d)| d)
                .find(|d| {
                    d["kind"] == "PodDisruptionBudget"
                        && d["spec"]["selector"]["matchLabels"] == *selector
                })
                .unwrap_or_else(|| panic!("{what}: a PodDisruptionBudget"));
            let spec = &budget["spec"];
            let keeps_one = match (
                spec["maxUnavailable"].as_u64(),
                spec["minAvailable"].as_u64(),
            ) {
                (Some(max), None) => max >= 1 && max < replicas,
                (None, Some(min)) => min >= 1 && min < replicas,
                _ => false,
            };
            assert!(
                keeps_one,
                "{what}: the budget lets a drain proceed and keeps a replica: {spec}"
            );
        }
    }
    for part in ["chat", "context", "desk"] {
        assert!(
            docs.iter().any(|(_, d)| d["kind"] == "PodDisruptionBudget"
                && d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == part),
            "{part} has a PodDisruptionBudget"
        );
    }
}
