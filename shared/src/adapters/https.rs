//! One HTTPS client for everything a function calls: the AWS SDK clients send through
//! the same `reqwest` client as the X and card processor adapters. One TLS stack, one
//! connection pool, and the system's root certificates read once per cold start (when
//! reqwest builds rustls' platform verifier), where the SDK's own HTTPS client, no longer
//! built in, read them a second time.
//!
//! The system store, not roots compiled in: Amazon Linux updates its CA bundle with the
//! runtime, so a revoked or added root reaches the functions without a redeploy. The
//! price is reading it at init; compiled-in roots would save that, for a rebuild per
//! root-store change.

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
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
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
