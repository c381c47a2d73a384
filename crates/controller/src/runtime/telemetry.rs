//! The spans of the controller's work: one per reconcile (the root of a trace), render, sync
//! and sync wave, each naming the app and, once known, the revision. With an OpenTelemetry
//! layer installed (`driftless serve` with `OTEL_EXPORTER_OTLP_ENDPOINT`), a reconcile's
//! span records its trace id, so the JSON log lines written inside it carry it.

use tracing::Span;
use tracing::field::Empty;

/// The root span of one reconcile of the app `key`.
pub fn reconcile_span(key: &str) -> Span {
    let span = tracing::info_span!("reconcile", app = %key, revision = Empty, trace_id = Empty);
    record_trace_id(&span);
    span
}

/// A sync (or the resumption of one) of the app `key`.
pub fn sync_span(key: &str) -> Span {
    tracing::info_span!("sync", app = %key, revision = Empty)
}

/// Rendering the app `key` at `revisions`.
pub fn render_span(key: &str, revisions: &[String]) -> Span {
    tracing::info_span!("render", app = %key, revision = %revisions.join(","))
}

fn record_trace_id(span: &Span) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = span.context();
    let trace_id = context.span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", trace_id.to_string().as_str());
    }
}
