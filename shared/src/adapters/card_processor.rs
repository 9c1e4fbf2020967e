//! A card processor's REST API, in the widely used shape: `POST /v1/charges` with a
//! form body, a bearer secret key, and an `Idempotency-Key` header with which the
//! processor returns the first result for a repeated key instead of charging again.

use async_trait::async_trait;
use serde::Deserialize;

use crate::ports::{ChargeOutcome, ChargeRequest, Payments, PortError, PortResult};
use crate::settings::Secret;

pub struct CardProcessorApi {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret,
}

#[derive(Deserialize)]
struct Charge {
    id: String,
    status: String,
    #[serde(default)]
    failure_code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    code: Option<String>,
}

impl CardProcessorApi {
    pub fn new(http: reqwest::Client, base_url: &str, secret_key: Secret) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key,
        }
    }
}

#[async_trait]
impl Payments for CardProcessorApi {
    async fn charge(&self, request: &ChargeRequest) -> PortResult<ChargeOutcome> {
        let form = [
            ("amount", request.amount.minor.to_string()),
            (
                "currency",
                request.amount.currency.as_str().to_ascii_lowercase(),
            ),
            ("source", request.card.expose().to_owned()),
            ("metadata[purchase_id]", request.idempotency_key.clone()),
        ];
        let response = self
            .http
            .post(format!("{}/v1/charges", self.base_url))
            .bearer_auth(self.secret_key.expose())
            .header("Idempotency-Key", &request.idempotency_key)
            .form(&form)
            .send()
            .await
            .map_err(|e| PortError::new("card processor", e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PortError::new("card processor", e))?;
        if status.is_success() {
            let charge: Charge = serde_json::from_slice(&body)
                .map_err(|e| PortError::new("card processor response", e))?;
            return Ok(match charge.status.as_str() {
                "succeeded" => ChargeOutcome::Approved {
                    charge_id: charge.id,
                },
                _ => ChargeOutcome::Declined {
                    reason: charge.failure_code.unwrap_or(charge.status),
                },
            });
        }
        // A card error is an answer (declined); anything else is a failure worth a retry,
        // which the idempotency key makes safe.
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error }) if status.as_u16() == 402 && error.kind == "card_error" => {
                Ok(ChargeOutcome::Declined {
                    reason: error.code.unwrap_or_else(|| "card_declined".into()),
                })
            }
            _ => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }
}
