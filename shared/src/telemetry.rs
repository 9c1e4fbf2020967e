//! Structured JSON logs. Every step opens a span carrying the purchase id, and the
//! formatter writes the current span's fields into each line, so one purchase can be
//! followed through every function by searching for its id.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber, filtered by `RUST_LOG` (default `default_level`).
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
