//! A Lambda Runtime API (the 2018-06-01 routes) served on loopback: a function binary
//! started with `AWS_LAMBDA_RUNTIME_API` pointing here polls it for events exactly as it
//! would in Lambda. Tests use it to run the real binaries; benchmarks to time them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::harness::logs::CapturedLogs;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// What a function answered to one invocation.
pub type Outcome = Result<Value, Value>;

#[derive(Default)]
struct Shared {
    /// When the function first asked for an event: the end of its init.
    first_poll: std::sync::OnceLock<std::time::Instant>,
    queue: Mutex<Option<mpsc::Receiver<(String, Value)>>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::Sender<(String, Value)>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let (events, queue) = mpsc::channel(16);
        let shared = Arc::new(Shared::default());
        *shared.queue.lock().await = Some(queue);
        let routes = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, routes).await });
        Ok(Self {
            addr,
            events,
            shared,
            next_id: AtomicU64::new(1),
        })
    }

    /// When the function first polled `invocation/next`, once it has.
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        self.shared.first_poll.get().copied()
    }

    /// Hands `event` to the function and waits (up to `timeout`) for its answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Outcome, String> {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().await.insert(id.clone(), tx);
        self.events
            .send((id, event))
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the runtime API dropped the invocation".into()),
            Err(_) => match self.shared.init_error.lock().await.clone() {
                Some(error) => Err(format!("the function failed to start: {error}")),
                None => Err("the function did not answer in time".into()),
            },
        }
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.first_poll.get_or_init(std::time::Instant::now);
    let mut queue = shared.queue.lock().await;
    let Some(receiver) = queue.as_mut() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some((id, event)) = receiver.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or(0);
    let values = [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:local".into(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
        ),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (headers, axum::Json(event)).into_response()
}

async fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.waiting.lock().await.remove(id) {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    finish(&shared, &id, Ok(json(&body))).await
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    finish(&shared, &id, Err(json(&body))).await
}

async fn init_error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    *shared.init_error.lock().await = Some(json(&body));
    StatusCode::ACCEPTED
}

/// An HTTP API (payload format 2.0) request event, as API Gateway hands it to a function.
pub fn http_api_event(method: &str, route: &str, path: &str, query: &str) -> Value {
    let query_parameters: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": query_parameters,
        "headers": {"host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r1", "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_600_000_000_u64
        },
        "isBase64Encoded": false
    })
}

/// A function binary running under a [`RuntimeApi`]; killed when dropped.
pub struct Spawned {
    pub child: tokio::process::Child,
    /// Its logs, shown only if the test fails.
    pub logs: CapturedLogs,
}

/// Runs a function binary under this Runtime API with the environment its template gives
/// it, on the AWS resources `resources` created on the emulator at `endpoint`.
pub fn spawn_function(
    binary: &str,
    runtime: &RuntimeApi,
    resources: &crate::harness::emulator::Resources,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> std::io::Result<Spawned> {
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "local")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "local")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HASHBUY_AWS_ENDPOINT", endpoint)
        .env("TABLE_NAME", resources.store.table())
        .env("EVENT_BUS_NAME", &resources.bus_name)
        .env("SES_FROM_ADDRESS", &resources.sender)
        .env("POST_QUEUE_URL", &resources.post_queue_url)
        .env("BRAND_X_USER_ID", "1000")
        .env("BRAND_SCREEN_NAME", "hashbuy")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in extra {
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;
    Ok(Spawned {
        child,
        logs: CapturedLogs::capture(stderr),
    })
}
