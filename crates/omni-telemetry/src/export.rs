//! The OTLP span exporter and tracer provider, built from [`Export`].
//!
//! OTLP/gRPC goes through tonic (already in the tree for the project's own
//! APIs); OTLP/HTTP through hyper-util's client (already in the tree too),
//! so neither adds a second HTTP stack. The HTTP client speaks plain
//! `http://` only: an operator sends to a collector nearby (a sidecar or
//! node agent), or uses gRPC.
//!
//! The SDK's batch processor exports from a thread of its own, outside the
//! tokio runtime that hyper needs: [`OnRuntime`] runs each request on the
//! runtime the exporter was built in.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler as SdkSampler, SdkTracerProvider};
use tonic::codegen::http;

use crate::TelemetryError;
use crate::config::{Export, Protocol, Sampler};

/// A batching tracer provider exporting as `export` says, under
/// `service_name`. Must run inside a tokio runtime.
pub fn provider(
    export: &Export,
    service_name: String,
) -> Result<SdkTracerProvider, TelemetryError> {
    let failed = |e: &dyn std::fmt::Display| {
        TelemetryError::Export(format!("cannot export to {}: {e}", export.endpoint))
    };
    let exporter = match export.protocol {
        Protocol::Grpc => {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (key, value) in &export.headers {
                let key =
                    tonic::metadata::MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
                        .map_err(|e| failed(&e))?;
                metadata.insert(key, value.parse().map_err(|e| failed(&e))?);
            }
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(export.endpoint.clone())
                .with_timeout(export.timeout)
                .with_metadata(metadata)
                .build()
                .map_err(|e| failed(&e))?
        }
        Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OnRuntime {
                client: opentelemetry_http::hyper::HyperClient::with_default_connector(
                    export.timeout,
                    None,
                ),
                runtime: tokio::runtime::Handle::try_current().map_err(|e| failed(&e))?,
            })
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(export.endpoint.clone())
            .with_timeout(export.timeout)
            .with_headers(export.headers.iter().cloned().collect())
            .build()
            .map_err(|e| failed(&e))?,
    };
    let resource = Resource::builder_empty()
        .with_attributes(
            export
                .resource
                .iter()
                .filter(|(k, _)| k != "service.name")
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_service_name(service_name)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sdk_sampler(export.sampler))
        .with_resource(resource)
        .build())
}

/// An HTTP client whose requests run on a tokio runtime, whatever thread
/// the exporter calls it from.
#[derive(Debug)]
struct OnRuntime {
    client: opentelemetry_http::hyper::HyperClient,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await
            .map_err(|e| Box::new(e) as opentelemetry_http::HttpError)?
    }
}

fn sdk_sampler(sampler: Sampler) -> SdkSampler {
    match sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(r) => SdkSampler::TraceIdRatioBased(r),
        Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(r) => {
            SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(r)))
        }
    }
}
