//! What to log and where to export spans, read from the standard
//! OpenTelemetry environment variables and the project's own aliases.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the collector's traces URL, used as given | |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's base URL (`/v1/traces` is added for HTTP) | |
//! | `OMNI_OTLP_ENDPOINT` | alias of `OTEL_EXPORTER_OTLP_ENDPOINT` (OTEL_* wins) | |
//! | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` or `http/protobuf` | `grpc` |
//! | `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,...` (values URL-encoded) | |
//! | `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT` | export timeout, milliseconds | 10000 |
//! | `OTEL_SERVICE_NAME` | `service.name` | the part's own name |
//! | `OMNI_SERVICE_NAME` | alias of `OTEL_SERVICE_NAME` (OTEL_* wins) | |
//! | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `key=value,...` | |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` (the argument is the ratio) | `parentbased_always_on` |
//! | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | no export even with an endpoint | |
//!
//! Nothing here reads the process environment: the caller passes a map, so
//! tests never set variables.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::TelemetryError;

/// How spans reach the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OTLP over gRPC (port 4317 by convention).
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (port 4318 by convention).
    HttpProtobuf,
}

/// Which traces are recorded and exported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// This fraction of traces, by trace id.
    TraceIdRatio(f64),
    /// The caller's decision when there is one, else every trace.
    #[default]
    ParentBasedAlwaysOn,
    /// The caller's decision when there is one, else none.
    ParentBasedAlwaysOff,
    /// The caller's decision when there is one, else this fraction.
    ParentBasedTraceIdRatio(f64),
}

/// Where and how spans are exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The URL spans are sent to: for gRPC the collector's address, for
    /// HTTP the full traces URL.
    pub endpoint: String,
    /// gRPC or HTTP/protobuf.
    pub protocol: Protocol,
    /// Headers (gRPC metadata) sent with every export, e.g. an API key.
    pub headers: Vec<(String, String)>,
    /// How long one export may take.
    pub timeout: Duration,
    /// Which traces are kept.
    pub sampler: Sampler,
    /// `service.name` from `OTEL_SERVICE_NAME` or its alias, if set.
    pub service_name: Option<String>,
    /// Resource attributes from `OTEL_RESOURCE_ATTRIBUTES`.
    pub resource: Vec<(String, String)>,
}

/// How to log and trace.
#[derive(Debug, Clone, Default)]
pub struct TelemetryOptions {
    /// Filter directives, e.g. `info,omni_router=debug`; `None` means `info`.
    pub filter: Option<String>,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
    /// Span export; `None` exports nothing (and costs nothing).
    pub export: Option<Export>,
    /// `service.name` when no variable names one: each part's own
    /// (`omni-router`, ...) or `omniroute` when every part runs together.
    pub default_service_name: Option<String>,
}

/// Default export timeout (the OpenTelemetry specification's).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl TelemetryOptions {
    /// Reads `OMNI_LOG`, `OMNI_LOG_FORMAT` and the variables in this
    /// module's table from a map of the environment.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Self, TelemetryError> {
        Ok(Self {
            filter: env.get("OMNI_LOG").cloned(),
            json: env.get("OMNI_LOG_FORMAT").is_some_and(|f| f == "json"),
            export: Export::from_env(env)?,
            default_service_name: None,
        })
    }

    /// Spans sent to an OTLP/gRPC collector at `endpoint`, every trace kept.
    pub fn grpc(endpoint: impl Into<String>) -> Self {
        Self::exporting(endpoint, Protocol::Grpc)
    }

    /// Spans sent to `endpoint` (for HTTP the full traces URL) over
    /// `protocol`, every trace kept.
    pub fn exporting(endpoint: impl Into<String>, protocol: Protocol) -> Self {
        Self {
            export: Some(Export {
                endpoint: endpoint.into(),
                protocol,
                headers: Vec::new(),
                timeout: DEFAULT_TIMEOUT,
                sampler: Sampler::AlwaysOn,
                service_name: None,
                resource: Vec::new(),
            }),
            ..Self::default()
        }
    }

    /// The `service.name` spans carry.
    pub fn service_name(&self) -> String {
        self.export
            .as_ref()
            .and_then(|e| e.service_name.clone())
            .or_else(|| {
                self.export.as_ref().and_then(|e| {
                    e.resource
                        .iter()
                        .find(|(k, _)| k == "service.name")
                        .map(|(_, v)| v.clone())
                })
            })
            .or_else(|| self.default_service_name.clone())
            .unwrap_or_else(|| "omniroute".into())
    }
}

impl Export {
    /// The export the variables ask for; `None` without an endpoint.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Option<Self>, TelemetryError> {
        let get = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        if get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
        {
            return Ok(None);
        }
        let protocol = match get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| get("OTEL_EXPORTER_OTLP_PROTOCOL"))
        {
            None | Some("grpc") => Protocol::Grpc,
            Some("http/protobuf") => Protocol::HttpProtobuf,
            Some(other) => {
                return Err(TelemetryError::Config(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is not one of grpc, http/protobuf"
                )));
            }
        };
        let endpoint = if let Some(url) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            url.to_owned()
        } else if let Some(base) =
            get("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| get("OMNI_OTLP_ENDPOINT"))
        {
            match protocol {
                Protocol::Grpc => base.to_owned(),
                Protocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
            }
        } else {
            return Ok(None);
        };
        if protocol == Protocol::HttpProtobuf && !endpoint.starts_with("http://") {
            return Err(TelemetryError::Config(format!(
                "OTLP over http/protobuf needs an http:// endpoint, not {endpoint:?}: \
                 send to a collector nearby, or use grpc for TLS"
            )));
        }
        let headers = match get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .or_else(|| get("OTEL_EXPORTER_OTLP_HEADERS"))
        {
            Some(list) => pairs(list, "OTEL_EXPORTER_OTLP_HEADERS")?,
            None => Vec::new(),
        };
        let timeout = match get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| get("OTEL_EXPORTER_OTLP_TIMEOUT"))
        {
            Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                TelemetryError::Config(format!(
                    "OTEL_EXPORTER_OTLP_TIMEOUT {ms:?} is not a number of milliseconds"
                ))
            })?),
            None => DEFAULT_TIMEOUT,
        };
        let resource = match get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(list) => pairs(list, "OTEL_RESOURCE_ATTRIBUTES")?,
            None => Vec::new(),
        };
        Ok(Some(Self {
            endpoint,
            protocol,
            headers,
            timeout,
            sampler: sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?,
            service_name: get("OTEL_SERVICE_NAME")
                .or_else(|| get("OMNI_SERVICE_NAME"))
                .map(str::to_owned),
            resource,
        }))
    }
}

/// `OTEL_TRACES_SAMPLER` and its argument.
fn sampler(name: Option<&str>, arg: Option<&str>) -> Result<Sampler, TelemetryError> {
    let ratio = || -> Result<f64, TelemetryError> {
        match arg {
            None => Ok(1.0),
            Some(text) => match text.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(TelemetryError::Config(format!(
                    "OTEL_TRACES_SAMPLER_ARG {text:?} is not a ratio from 0 to 1"
                ))),
            },
        }
    };
    Ok(match name {
        None | Some("parentbased_always_on") => Sampler::ParentBasedAlwaysOn,
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::TraceIdRatio(ratio()?),
        Some("parentbased_always_off") => Sampler::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => Sampler::ParentBasedTraceIdRatio(ratio()?),
        Some(other) => {
            return Err(TelemetryError::Config(format!(
                "OTEL_TRACES_SAMPLER {other:?} is not one of always_on, always_off, \
                 traceidratio, parentbased_always_on, parentbased_always_off, \
                 parentbased_traceidratio"
            )));
        }
    })
}

/// A `key=value,key2=value2` list with URL-encoded values (the W3C baggage
/// format the OTLP headers and resource attributes use).
fn pairs(list: &str, variable: &str) -> Result<Vec<(String, String)>, TelemetryError> {
    list.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (key, value) = item.split_once('=').ok_or_else(|| {
                TelemetryError::Config(format!("{variable}: {item:?} is not key=value"))
            })?;
            Ok((key.trim().to_owned(), percent_decode(value.trim())))
        })
        .collect()
}

/// `%XX` escapes decoded; a malformed escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn export(pairs: &[(&str, &str)]) -> Option<Export> {
        Export::from_env(&env(pairs)).unwrap()
    }

    #[test]
    fn nothing_is_exported_without_an_endpoint() {
        assert_eq!(export(&[]), None);
        assert_eq!(export(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")]), None);
        assert_eq!(
            export(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_SDK_DISABLED", "true")
            ]),
            None
        );
        assert_eq!(
            export(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_TRACES_EXPORTER", "none")
            ]),
            None
        );
    }

    #[test]
    fn otel_variables_win_over_the_project_aliases() {
        let e = export(&[
            ("OMNI_OTLP_ENDPOINT", "http://old:4317"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://new:4317"),
            ("OMNI_SERVICE_NAME", "old"),
            ("OTEL_SERVICE_NAME", "new"),
        ])
        .unwrap();
        assert_eq!(e.endpoint, "http://new:4317");
        assert_eq!(e.service_name.as_deref(), Some("new"));
        let alias = export(&[
            ("OMNI_OTLP_ENDPOINT", "http://old:4317"),
            ("OMNI_SERVICE_NAME", "old"),
        ])
        .unwrap();
        assert_eq!(alias.endpoint, "http://old:4317");
        assert_eq!(alias.protocol, Protocol::Grpc);
        assert_eq!(alias.service_name.as_deref(), Some("old"));
    }

    #[test]
    fn http_endpoints_follow_the_specification() {
        let base = export(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(base.endpoint, "http://c:4318/v1/traces");
        assert_eq!(base.protocol, Protocol::HttpProtobuf);
        let signal = export(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9/custom"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(signal.endpoint, "http://t:9/custom");
        assert_eq!(signal.protocol, Protocol::HttpProtobuf);
        assert!(
            Export::from_env(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ]))
            .is_err()
        );
        assert!(
            Export::from_env(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ]))
            .is_err()
        );
    }

    #[test]
    fn headers_resource_and_timeout_are_read() {
        let e = export(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-tenant=t1"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.name=r",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(
            e.headers,
            vec![
                ("api-key".into(), "a b".into()),
                ("x-tenant".into(), "t1".into())
            ]
        );
        assert_eq!(e.timeout, Duration::from_millis(2500));
        let options = TelemetryOptions {
            export: Some(e),
            default_service_name: Some("omni-router".into()),
            ..Default::default()
        };
        assert_eq!(options.service_name(), "r", "resource's service.name");
        assert!(
            Export::from_env(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ]))
            .is_err()
        );
    }

    #[test]
    fn the_service_name_defaults_to_the_part() {
        let mut options = TelemetryOptions::grpc("http://c:4317");
        assert_eq!(options.service_name(), "omniroute");
        options.default_service_name = Some("omni-chat".into());
        assert_eq!(options.service_name(), "omni-chat");
        if let Some(e) = options.export.as_mut() {
            e.service_name = Some("mine".into());
        }
        assert_eq!(options.service_name(), "mine");
    }

    #[test]
    fn samplers_are_parsed() {
        let sampler_of = |name: &str, arg: Option<&str>| sampler(Some(name), arg);
        assert_eq!(sampler(None, None).unwrap(), Sampler::ParentBasedAlwaysOn);
        assert_eq!(sampler_of("always_on", None).unwrap(), Sampler::AlwaysOn);
        assert_eq!(sampler_of("always_off", None).unwrap(), Sampler::AlwaysOff);
        assert_eq!(
            sampler_of("traceidratio", Some("0.25")).unwrap(),
            Sampler::TraceIdRatio(0.25)
        );
        assert_eq!(
            sampler_of("traceidratio", None).unwrap(),
            Sampler::TraceIdRatio(1.0)
        );
        assert_eq!(
            sampler_of("parentbased_always_off", None).unwrap(),
            Sampler::ParentBasedAlwaysOff
        );
        assert_eq!(
            sampler_of("parentbased_traceidratio", Some("0.5")).unwrap(),
            Sampler::ParentBasedTraceIdRatio(0.5)
        );
        assert!(sampler_of("traceidratio", Some("2")).is_err());
        assert!(sampler_of("sometimes", None).is_err());
    }
}
