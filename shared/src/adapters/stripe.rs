//! Stripe's PaymentIntents API: one payment per purchase, created unconfirmed for the
//! shopper's saved card (customer and payment method), recorded on the purchase, then
//! confirmed off-session. Form bodies, a bearer secret key, an `Idempotency-Key` per
//! purchase on create (Stripe prunes keys after 24 hours, so hashbuy's own record is what
//! prevents a second payment; the key only covers a create retried at once).

use async_trait::async_trait;
use serde::Deserialize;

use crate::domain::{CardOnFile, Currency, Money, PurchaseId, SavedCard};
use crate::ports::{
    CardSaved, CardSetup, PaymentRequest, PaymentStatus, Payments, PortError, PortResult,
    ProcessorPayment,
};
use crate::settings::Secret;

/// The API version the adapter was written against, pinned so that an account's default
/// version changing upstream cannot change the answers it parses.
const API_VERSION: &str = "2024-06-20";

/// What the processor at the other end accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Stripe,
    /// The localstripe emulator refuses `off_session` on a confirm (Stripe needs it there to
    /// mark the charge as merchant-initiated); everything else is the same.
    Localstripe,
}

impl Dialect {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stripe" => Some(Self::Stripe),
            "localstripe" => Some(Self::Localstripe),
            _ => None,
        }
    }
}

pub struct StripeApi {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret,
    dialect: Dialect,
}

#[derive(Deserialize)]
struct Intent {
    id: String,
    status: String,
    #[serde(default)]
    client_secret: Option<String>,
    /// Expanded when read, to tell a refunded payment from a succeeded one.
    #[serde(default)]
    latest_charge: Option<serde_json::Value>,
    #[serde(default)]
    last_payment_error: Option<ErrorDetail>,
    /// Read only when listing, for the reconciliation.
    #[serde(default)]
    amount: u64,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

/// A page of `GET /v1/payment_intents`.
#[derive(Deserialize)]
struct IntentPage {
    data: Vec<Intent>,
    #[serde(default)]
    has_more: bool,
}

/// Pages of a hundred read at most by one reconciliation: ten thousand payments.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
}

impl ErrorDetail {
    /// A failed attempt: the bank wants the shopper, or it is a decline with its reason.
    fn status(self) -> PaymentStatus {
        match self.code.as_deref() {
            Some("authentication_required") => PaymentStatus::NeedsAuthentication,
            _ => PaymentStatus::Declined {
                reason: self
                    .decline_code
                    .or(self.code)
                    .unwrap_or_else(|| "card_declined".into()),
            },
        }
    }
}

impl Intent {
    /// Its charge, expanded, was refunded in full.
    fn refunded(&self) -> bool {
        let charge = self.latest_charge.as_ref();
        charge.and_then(|c| c["refunded"].as_bool()) == Some(true)
    }

    fn status(self) -> PaymentStatus {
        match self.status.as_str() {
            "succeeded" if self.refunded() => PaymentStatus::Refunded,
            "succeeded" => PaymentStatus::Succeeded,
            "requires_confirmation" => PaymentStatus::Unconfirmed,
            "requires_action" => PaymentStatus::NeedsAuthentication,
            "canceled" => PaymentStatus::Canceled,
            // Confirmed with a saved card, it needs a payment method again only after a
            // failed attempt; one never attempted is still unconfirmed.
            "requires_payment_method" => match self.last_payment_error {
                Some(error) => error.status(),
                None => PaymentStatus::Unconfirmed,
            },
            _ => PaymentStatus::Processing,
        }
    }
}

impl StripeApi {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        secret_key: Secret,
        dialect: Dialect,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key,
            dialect,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", API_VERSION)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> PortResult<(reqwest::StatusCode, bytes::Bytes)> {
        let response = request
            .send()
            .await
            .map_err(|e| PortError::new("card processor", e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PortError::new("card processor", e))?;
        Ok((status, body))
    }

    /// Sends a request that answers with a PaymentIntent; anything else is an error, the
    /// outcome unknown.
    async fn intent(&self, request: reqwest::RequestBuilder) -> PortResult<Intent> {
        match self.send(request).await? {
            (status, body) if status.is_success() => serde_json::from_slice(&body)
                .map_err(|e| PortError::new("card processor response", e)),
            (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }

    /// Sends a charge attempt. A 402 is the processor's answer to it (declined, or the
    /// bank wants the shopper), not an error.
    async fn attempt(&self, request: reqwest::RequestBuilder) -> PortResult<PaymentStatus> {
        match self.send(request).await? {
            (status, body) if status.as_u16() == 402 => serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error.status())
                .map_err(|e| PortError::new("card processor response", e)),
            (status, body) if status.is_success() => serde_json::from_slice::<Intent>(&body)
                .map(Intent::status)
                .map_err(|e| PortError::new("card processor response", e)),
            (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }
}

impl StripeApi {
    /// Saves a card by its number for a new customer, as a shopper's SetupIntent would:
    /// for test mode and the emulator only (a live account takes card numbers from
    /// Stripe.js, never from a server). A card refused when saved is an error.
    pub async fn save_test_card(&self, number: &str) -> PortResult<SavedCard> {
        let created = |request: reqwest::RequestBuilder| async move {
            match self.send(request).await? {
                (status, body) if status.is_success() => serde_json::from_slice::<Created>(&body)
                    .map(|c| c.id)
                    .map_err(|e| PortError::new("card processor response", e)),
                (status, _) if status.as_u16() == 402 => Err(PortError::new(
                    "card processor",
                    "the card was declined when saved",
                )),
                (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
            }
        };
        let customer = created(self.post("/v1/customers")).await?;
        let card = [
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ];
        let method = created(self.post("/v1/payment_methods").form(&card)).await?;
        let attach = [("customer", customer.as_str())];
        let path = format!("/v1/payment_methods/{}/attach", path(&method)?);
        created(self.post(&path).form(&attach)).await?;
        Ok(SavedCard::new(customer, method))
    }
}

/// What happens at the processor outside hashbuy, played on localstripe for tests and the
/// local stack: the shopper answering their bank (its Stripe.js stand-in's call), and
/// the merchant refunding from the dashboard.
#[cfg(feature = "harness")]
impl StripeApi {
    pub async fn answer_bank_on_emulator(&self, payment: &str, approved: bool) -> PortResult<()> {
        let secret = self.client_secret(payment).await?;
        let success = if approved { "true" } else { "false" };
        let form = [
            ("key", "pk_test_hashbuy"),
            ("client_secret", secret.expose()),
            ("success", success),
        ];
        let url = format!(
            "{}/v1/payment_intents/{}/_authenticate",
            self.base_url,
            path(payment)?
        );
        match self.send(self.http.post(url).form(&form)).await? {
            (status, _) if status.is_success() => Ok(()),
            (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }

    /// The shopper's browser confirms a card setup with a test card, as the emulator's
    /// Stripe.js stand-in does. A card the bank refuses is not an error here.
    pub async fn confirm_setup_on_emulator(
        &self,
        client_secret: &Secret,
        number: &str,
    ) -> PortResult<()> {
        let setup = client_secret
            .expose()
            .split("_secret_")
            .next()
            .unwrap_or_default();
        let body = serde_json::json!({
            "key": "pk_test_hashbuy",
            "client_secret": client_secret.expose(),
            "payment_method_data": {"type": "card", "card": {
                "number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}},
        });
        let url = format!(
            "{}/v1/setup_intents/{}/confirm",
            self.base_url,
            path(setup)?
        );
        match self.send(self.http.post(url).json(&body)).await? {
            (status, _) if status.is_success() || status.as_u16() == 402 => Ok(()),
            (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }

    pub async fn refund_from_dashboard(&self, payment: &str) -> PortResult<()> {
        self.post_refund(payment, None).await
    }
}

#[async_trait]
impl Payments for StripeApi {
    async fn create(&self, request: &PaymentRequest) -> PortResult<String> {
        let form = [
            ("amount", request.amount.minor.to_string()),
            (
                "currency",
                request.amount.currency.as_str().to_ascii_lowercase(),
            ),
            ("customer", request.card.customer.clone()),
            ("payment_method", request.card.payment_method.clone()),
            ("payment_method_types[]", "card".into()),
            ("metadata[purchase_id]", request.purchase.to_string()),
        ];
        let key = format!("hashbuy-payment-{}", request.purchase);
        let intent = self
            .intent(
                self.post("/v1/payment_intents")
                    .header("Idempotency-Key", key)
                    .form(&form),
            )
            .await?;
        Ok(intent.id)
    }

    async fn confirm(&self, payment: &str) -> PortResult<PaymentStatus> {
        let form: &[(&str, &str)] = match self.dialect {
            Dialect::Stripe => &[("off_session", "true")],
            Dialect::Localstripe => &[],
        };
        self.attempt(
            self.post(&format!("/v1/payment_intents/{}/confirm", path(payment)?))
                .form(form),
        )
        .await
    }

    async fn status(&self, payment: &str) -> PortResult<PaymentStatus> {
        Ok(self.read(payment).await?.status())
    }

    async fn client_secret(&self, payment: &str) -> PortResult<Secret> {
        let intent = self.read(payment).await?;
        let secret = intent.client_secret.filter(|s| !s.is_empty());
        secret
            .map(Secret::new)
            .ok_or_else(|| PortError::new("card processor", "no client secret"))
    }

    async fn create_customer(&self, key: &str) -> PortResult<String> {
        let created: Created = self
            .json(
                self.post("/v1/customers")
                    .header("Idempotency-Key", format!("hashbuy-customer-{key}")),
            )
            .await?;
        Ok(created.id)
    }

    async fn setup_card(&self, customer: &str) -> PortResult<CardSetup> {
        let form = [
            ("customer", customer),
            ("usage", "off_session"),
            ("payment_method_types[]", "card"),
        ];
        let setup: SetupIntent = self
            .json(self.post("/v1/setup_intents").form(&form))
            .await?;
        let secret = setup.client_secret.filter(|s| !s.is_empty());
        Ok(CardSetup {
            id: setup.id,
            client_secret: Secret::new(
                secret.ok_or_else(|| PortError::new("card processor", "no client secret"))?,
            ),
        })
    }

    async fn card_saved(&self, setup: &str, customer: &str) -> PortResult<CardSaved> {
        let setup: SetupIntent = self
            .get(&format!("/v1/setup_intents/{}", path(setup)?))
            .await?;
        if setup.customer.as_deref() != Some(customer) {
            return Ok(CardSaved::NotYours);
        }
        let method = match (setup.status.as_str(), setup.payment_method) {
            ("succeeded", Some(method)) => method,
            ("canceled", _) => return Ok(CardSaved::Refused),
            ("requires_payment_method", _) if setup.last_setup_error.is_some() => {
                return Ok(CardSaved::Refused);
            }
            _ => return Ok(CardSaved::NotYet),
        };
        let pm: PaymentMethod = self
            .get(&format!("/v1/payment_methods/{}", path(&method)?))
            .await?;
        // Stripe attaches the card to the setup's customer; the emulator leaves it to us.
        match pm.customer.as_deref() {
            Some(owner) if owner != customer => return Ok(CardSaved::NotYours),
            Some(_) => {}
            None => {
                let attach = [("customer", customer)];
                let path = format!("/v1/payment_methods/{}/attach", path(&method)?);
                let _: Created = self.json(self.post(&path).form(&attach)).await?;
            }
        }
        let card = pm.card.unwrap_or_default();
        Ok(CardSaved::Saved(CardOnFile {
            saved: SavedCard::new(customer, method),
            brand: card.brand,
            last4: card.last4,
        }))
    }

    async fn recorded(&self) -> PortResult<Vec<ProcessorPayment>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query = {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("limit", "100");
                query.append_pair("expand[]", "data.latest_charge");
                if let Some(last) = &after {
                    query.append_pair("starting_after", last);
                }
                query.finish()
            };
            let request = self
                .http
                .get(format!("{}/v1/payment_intents?{query}", self.base_url))
                .bearer_auth(self.secret_key.expose())
                .header("Stripe-Version", API_VERSION);
            let page: IntentPage = match self.send(request).await? {
                (status, body) if status.is_success() => serde_json::from_slice(&body)
                    .map_err(|e| PortError::new("card processor response", e))?,
                (status, _) => {
                    return Err(PortError::new("card processor", format!("HTTP {status}")));
                }
            };
            after = page.data.last().map(|i| i.id.clone());
            for intent in page.data {
                let purchase = intent
                    .metadata
                    .get("purchase_id")
                    .and_then(|id| PurchaseId::parse(id).ok());
                let amount = Currency::parse(&intent.currency.to_ascii_uppercase())
                    .map(|currency| Money {
                        minor: intent.amount,
                        currency,
                    })
                    .map_err(|e| PortError::new("card processor response", e))?;
                let id = intent.id.clone();
                all.push(ProcessorPayment {
                    id,
                    purchase,
                    amount,
                    status: intent.status(),
                });
            }
            if !page.has_more || after.is_none() {
                return Ok(all);
            }
        }
        Err(PortError::new(
            "card processor",
            "more payments than one reconciliation reads",
        ))
    }

    async fn cancel(&self, payment: &str) -> PortResult<PaymentStatus> {
        let request = self.post(&format!("/v1/payment_intents/{}/cancel", path(payment)?));
        Ok(self.intent(request).await?.status())
    }

    async fn refund(&self, payment: &str, key: &str) -> PortResult<PaymentStatus> {
        if self.read(payment).await?.status() == PaymentStatus::Refunded {
            return Ok(PaymentStatus::Refunded);
        }
        // Refused because a racing call refunded it first: the status says so.
        let refused = self.post_refund(payment, Some(key)).await.err();
        match (self.read(payment).await?.status(), refused) {
            (status @ PaymentStatus::Refunded, _) | (status, None) => Ok(status),
            (_, Some(error)) => Err(error),
        }
    }
}

impl StripeApi {
    /// A refund of the whole payment (`POST /v1/refunds`), with an idempotency key when
    /// hashbuy makes it.
    async fn post_refund(&self, payment: &str, key: Option<&str>) -> PortResult<()> {
        let form = [("payment_intent", path(payment)?)];
        let mut request = self.post("/v1/refunds").form(&form);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        match self.send(request).await? {
            (status, _) if status.is_success() => Ok(()),
            (status, _) => Err(PortError::new(
                "card processor",
                format!("refund refused: HTTP {status}"),
            )),
        }
    }

    /// GETs `path` as a `T`.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> PortResult<T> {
        let request = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", API_VERSION);
        self.json(request).await
    }

    /// Sends a request whose answer is a `T`; anything else is an error.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> PortResult<T> {
        match self.send(request).await? {
            (status, body) if status.is_success() => serde_json::from_slice(&body)
                .map_err(|e| PortError::new("card processor response", e)),
            (status, _) => Err(PortError::new("card processor", format!("HTTP {status}"))),
        }
    }

    async fn read(&self, payment: &str) -> PortResult<Intent> {
        let request = self
            .http
            .get(format!(
                "{}/v1/payment_intents/{}?expand[]=latest_charge",
                self.base_url,
                path(payment)?
            ))
            .bearer_auth(self.secret_key.expose())
            .header("Stripe-Version", API_VERSION);
        self.intent(request).await
    }
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct SetupIntent {
    id: String,
    status: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    payment_method: Option<String>,
    #[serde(default)]
    last_setup_error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PaymentMethod {
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    card: Option<CardDetails>,
}

/// What a shopper may be shown of their card.
#[derive(Default, Deserialize)]
struct CardDetails {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    last4: String,
}

/// A payment id as a path segment: the processor's ids are letters, digits and `_`, and
/// anything else (a corrupted record) is refused rather than sent in a URL.
fn path(payment: &str) -> PortResult<&str> {
    let valid = !payment.is_empty()
        && payment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid
        .then_some(payment)
        .ok_or_else(|| PortError::new("card processor", "not a payment id"))
}
