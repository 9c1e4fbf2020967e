//! What every Lambda `main` does, once: logs, start-up, and the runtime loop around one
//! step. The functions' `main`s only say which step and which secrets.

use std::future::Future;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use bytes::Bytes;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::startup::{self, Needs, Started};
use crate::steps::StepError;

async fn start(needs: Needs) -> Result<Started, Error> {
    crate::telemetry::init("info");
    startup::from_env(needs).await.map_err(|e| {
        tracing::error!(error = %e, "start-up failed");
        Error::from(e)
    })
}

/// Runs a step on each EventBridge event whose `detail` is a `T`. An error fails the
/// invocation, so EventBridge retries the event and finally dead-letters it.
pub async fn run_event_step<T, F, Fut>(needs: Needs, step: F) -> Result<(), Error>
where
    T: DeserializeOwned + Serialize + Send + 'static,
    F: Fn(App, T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    let app = start(needs).await?.app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<T>>| {
            let (app, step) = (app.clone(), step.clone());
            async move { step(app, event.payload.detail).await.map_err(Error::from) }
        },
    ))
    .await
}

/// Serves an HTTP API route with a step that takes and returns plain `http` values.
pub async fn run_http_step<F, Fut>(needs: Needs, step: F) -> Result<(), Error>
where
    F: Fn(Started, http::Request<Bytes>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = http::Response<String>> + Send,
{
    let started = start(needs).await?;
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| {
            let (started, step) = (started.clone(), step.clone());
            async move {
                let (parts, body) = request.into_parts();
                let request =
                    http::Request::from_parts(parts, Bytes::copy_from_slice(body.as_ref()));
                let response = step(started, request).await;
                Ok::<_, Error>(response.map(lambda_http::Body::from))
            }
        },
    ))
    .await
}

/// Runs a step on each message of an SQS batch whose body is a `T`. A message that fails
/// (or cannot be read) is reported back alone (`ReportBatchItemFailures`), so SQS gives it
/// again after its visibility timeout and finally moves it to the dead-letter queue; the
/// rest of the batch is done.
pub async fn run_queue_step<T, F, Fut>(needs: Needs, step: F) -> Result<(), Error>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(App, T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    let app = start(needs).await?.app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (app, step) = (app.clone(), step.clone());
        async move {
            let mut response = SqsBatchResponse::default();
            for message in event.payload.records {
                let id = message.message_id.clone().unwrap_or_default();
                let body = message.body.as_deref().unwrap_or_default();
                let done = match serde_json::from_str::<T>(body) {
                    Ok(item) => step(app.clone(), item).await.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("unreadable message: {e}")),
                };
                if let Err(error) = done {
                    tracing::error!(message_id = %id, error, "message failed; SQS will give it again");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
            Ok::<_, Error>(response)
        }
    }))
    .await
}
