//! One HTTPS client for everything a function calls: the AWS SDK clients send through
//! the same `reqwest` client as the X and card processor adapters. One TLS stack, one
//! connection pool, one root store.
//!
//! The roots are Mozilla's, compiled in (`webpki-roots`), not read from the system: a
//! cold start then touches no certificate file (reqwest's default, rustls' platform
//! verifier, read /etc/ssl/certs — ~150 files — at every init, the largest part of it).
//! The price: a root added or revoked reaches the functions with the next build of
//! hashbuy (a `cargo update -p webpki-roots`), not with the runtime's CA bundle. Every
//! endpoint hashbuy calls (AWS, X, the card processor) chains to a long-lived public root.
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// How long any request may take, AWS, X or the card processor; the SDK's own attempt
/// and operation timeouts are shorter and apply first to its requests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The process's HTTPS client, for the adapters that speak HTTP themselves.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls()?)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

/// TLS 1.2 and 1.3 over aws-lc-rs, trusting the compiled-in roots.
pub(crate) fn tls() -> Result<rustls::ClientConfig, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `client`, as the AWS SDK's HTTP client.
pub fn for_sdk(client: &reqwest::Client) -> SharedHttpClient {
    SharedHttpClient::new(Sdk(client.clone()))
}

#[derive(Clone, Debug)]
struct Sdk(reqwest::Client);

impl HttpClient for Sdk {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for Sdk {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // The SDK's requests here are small JSON documents, always in memory.
            let body = body.bytes().map(<[u8]>::to_vec).ok_or_else(|| {
                ConnectorError::other("streaming request bodies are not supported".into(), None)
            })?;
            let sent = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(connector_error)?;
            let mut response = http::Response::builder().status(sent.status());
            if let Some(headers) = response.headers_mut() {
                headers.extend(sent.headers().clone());
            }
            let bytes = sent.bytes().await.map_err(connector_error)?;
            let response = response
                .body(SdkBody::from(bytes))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Tells the SDK's retry policy what kind of failure it was.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
