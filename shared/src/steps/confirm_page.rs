//! The page behind the emailed link. A GET only shows the page (mail scanners open links
//! by themselves); the Confirm button POSTs, and only that confirms, once, in time, and
//! charges the card while the shopper waits.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use super::StepError;
use super::charge_card::{self, Outcome as Charged};
use super::pages::{BankCheck, Body, browser_language, page, paragraph};
use crate::app::App;
use crate::domain::{
    Event, Fulfilment, Guarded, Language, LinkKey, LinkStatus, Purchase, PurchaseConfirmed,
    Refusal, State, Timestamp,
};
use crate::ports::{Checked, PortError};

/// The route prefix; the token follows it.
pub const PATH_PREFIX: &str = "/confirm/";

pub async fn handle(app: &App, request: Request<Bytes>) -> Response<String> {
    let span = tracing::info_span!("confirm_page", purchase_id = tracing::field::Empty, method = %request.method());
    async {
        match respond(app, &request).await {
            Ok(response) => {
                tracing::info!(status = response.status().as_u16(), "confirmation page answered");
                response
            }
            Err(error) => {
                tracing::error!(error = %error, "confirmation page failed");
                let l = browser_language(&request);
                page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    l.pick("Please try again", "Veuillez réessayer"),
                    &paragraph(l.pick(
                        "Something went wrong on our side. Please try again in a moment: you are never charged twice.",
                        "Un problème est survenu de notre côté. Réessayez dans un instant : vous n'êtes jamais débité deux fois.",
                    ))
                    .in_language(l),
                )
            }
        }
    }
    .instrument(span)
    .await
}

fn invalid_link(l: Language) -> Response<String> {
    page(
        StatusCode::NOT_FOUND,
        l.pick("This link is not valid", "Ce lien n'est pas valable"),
        &paragraph(l.pick(
            "Check that you opened the whole link from the email. Nothing was charged.",
            "Vérifiez que vous avez ouvert le lien entier de l'email. Rien n'a été débité.",
        ))
        .in_language(l),
    )
}

async fn respond(app: &App, request: &Request<Bytes>) -> Result<Response<String>, StepError> {
    let raw = request
        .uri()
        .path()
        .strip_prefix(PATH_PREFIX)
        .unwrap_or_default();
    let Ok(key) = LinkKey::parse(raw.trim_end_matches('/')) else {
        return Ok(invalid_link(browser_language(request)));
    };
    if *request.method() == Method::POST {
        return confirm(app, &key, browser_language(request)).await;
    }
    let purchase = app.ports.purchases.get(&key.purchase).await?;
    let Some(purchase) = purchase.filter(|p| p.opened_by(&key.token)) else {
        return Ok(invalid_link(browser_language(request)));
    };
    record_purchase(&purchase);
    match *request.method() {
        Method::GET | Method::HEAD => Ok(show(app, &purchase).await),
        _ => {
            let mut response = page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                &Body::default(),
            );
            response.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, POST"),
            );
            Ok(response)
        }
    }
}

fn record_purchase(p: &Purchase) {
    tracing::Span::current().record("purchase_id", tracing::field::display(&p.id));
}

async fn show(app: &App, p: &Purchase) -> Response<String> {
    let now = app.ports.clock.now();
    match p.link_status(now) {
        LinkStatus::Authenticate { deadline } => bank_page(app, p, deadline, now).await,
        LinkStatus::Open { deadline } => {
            let (l, minutes, name) = (p.language, minutes_until(deadline, now), &p.product_name);
            let (shown, price) = (p.price_shown_in(l), p.price.in_language(l));
            let body = paragraph(l.pick(
                format!("You asked to buy {name} for {shown}."),
                format!("Vous avez demandé à acheter {name} pour {shown}."),
            ))
            .then(l.pick(
                format!("This link works for {minutes} more minute(s). Your card is charged only when you press Confirm."),
                format!("Ce lien fonctionne encore {minutes} minute(s). Votre carte n'est débitée que lorsque vous appuyez sur Confirmer."),
            ))
            .with_button(l.pick(
                format!("Confirm and pay {price}"),
                format!("Confirmer et payer {price}"),
            ))
            .in_language(l);
            page(
                StatusCode::OK,
                l.pick("Confirm your purchase", "Confirmez votre achat"),
                &body,
            )
        }
        status => closed(status, p, now),
    }
}

/// The minutes left until `deadline`, rounded up.
fn minutes_until(deadline: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(deadline.seconds() - now.seconds())
        .unwrap_or(0)
        .div_ceil(60)
}

/// The bank wants the shopper: with Stripe.js configured, the page lets them answer it
/// here (the payment's client secret opens nothing else); without it, or if the secret
/// cannot be read now, it asks them to approve in their bank's app. Either way the
/// button posts back, and the payment is read from the processor.
async fn bank_page(
    app: &App,
    p: &Purchase,
    deadline: Timestamp,
    now: Timestamp,
) -> Response<String> {
    let check = match (&app.settings.stripe_js, &p.payment_intent) {
        (Some(js), Some(payment)) => match app.ports.payments.client_secret(payment).await {
            Ok(secret) => Some(BankCheck::new(
                js.clone(),
                &secret,
                &p.card.payment_method,
                p.language,
            )),
            Err(error) => {
                tracing::warn!(error = %error, "could not read the payment's client secret; the page falls back to the bank's app");
                None
            }
        },
        _ => None,
    };
    let body = bank_body(p, deadline, now);
    let body = match check {
        Some(check) => body.with_bank_check(check),
        None => body,
    };
    let l = p.language;
    page(
        StatusCode::OK,
        l.pick(
            "Your bank wants you to approve this payment",
            "Votre banque veut que vous approuviez ce paiement",
        ),
        &body.with_button(check_again(l)),
    )
}

fn check_again(l: Language) -> &'static str {
    l.pick(
        "I approved it: check again",
        "Je l'ai approuvé : vérifier à nouveau",
    )
}

fn bank_body(p: &Purchase, deadline: Timestamp, now: Timestamp) -> Body {
    let (l, name) = (p.language, &p.product_name);
    let (price, minutes) = (p.price.in_language(l), minutes_until(deadline, now));
    paragraph(l.pick(
        format!("Your bank asks you to approve the payment of {price} for {name} before it is charged."),
        format!("Votre banque vous demande d'approuver le paiement de {price} pour {name} avant qu'il soit débité."),
    ))
    .then(l.pick(
        format!("Approve it within {minutes} minute(s), then press the button below. Until then nothing is charged and your item is kept for you."),
        format!("Approuvez-le dans les {minutes} minute(s), puis appuyez sur le bouton ci-dessous. D'ici là rien n'est débité et votre article vous est réservé."),
    ))
    .in_language(l)
}

fn closed(status: LinkStatus, p: &Purchase, now: Timestamp) -> Response<String> {
    let (l, name, price) = (p.language, &p.product_name, p.price.in_language(p.language));
    let said = |text: String| paragraph(text).in_language(l);
    match status {
        LinkStatus::Authenticate { deadline } => page(
            StatusCode::OK,
            l.pick(
                "Your bank wants you to approve this payment",
                "Votre banque veut que vous approuviez ce paiement",
            ),
            &bank_body(p, deadline, now).with_button(check_again(l)),
        ),
        LinkStatus::AlreadyConfirmed => page(
            StatusCode::OK,
            l.pick("Already confirmed", "Déjà confirmé"),
            &said(l.pick(
                format!("Your purchase of {name} is confirmed. You are charged once, whatever you press."),
                format!("Votre achat de {name} est confirmé. Vous n'êtes débité qu'une fois, quoi que vous pressiez."),
            )),
        ),
        LinkStatus::Expired => page(
            StatusCode::GONE,
            l.pick("This link has expired", "Ce lien a expiré"),
            &said(l.pick(
                "The time to confirm has passed, so nothing was charged. Post the hashtag again to start over.",
                "Le délai pour confirmer est passé : rien n'a été débité. Postez à nouveau le hashtag pour recommencer.",
            ).to_owned()),
        ),
        LinkStatus::Closed(State::Refunded) => page(
            StatusCode::GONE,
            l.pick("This purchase was refunded", "Cet achat a été remboursé"),
            &said(l.pick(
                format!("We refunded {price} for {name} to your card."),
                format!("Nous avons remboursé {price} pour {name} sur votre carte."),
            )),
        ),
        LinkStatus::Closed(State::Declined) => page(
            StatusCode::GONE,
            l.pick("This purchase was declined", "Cet achat a été refusé"),
            &said(l.pick(
                "Your card was declined, so nothing was charged.",
                "Votre carte a été refusée : rien n'a été débité.",
            ).to_owned()),
        ),
        LinkStatus::Closed(_) | LinkStatus::Open { .. } => page(
            StatusCode::GONE,
            l.pick("This link is no longer valid", "Ce lien n'est plus valable"),
            &said(l.pick(
                "This purchase was closed and nothing was charged.",
                "Cet achat a été clos et rien n'a été débité.",
            ).to_owned()),
        ),
    }
}

/// Confirms in one conditional write, without reading the purchase first; when the write
/// is refused, the purchase as the write found it says why.
async fn confirm(
    app: &App,
    key: &LinkKey,
    language: Language,
) -> Result<Response<String>, StepError> {
    let now = app.ports.clock.now();
    let confirm = Guarded::confirm(key, now);
    let p = match app.ports.purchases.apply_guarded(&confirm).await? {
        Checked::Written(p) => {
            record_purchase(&p);
            tracing::info!("purchase confirmed");
            p
        }
        // The bank's link too: its write never matches (only the confirmation link's
        // hash is in it), and a purchase that has one is confirmed already.
        Checked::Refused(Some(p)) if p.opened_by(&key.token) => {
            record_purchase(&p);
            match p.confirm(now) {
                Err(Refusal::AlreadyDone) => p,
                Err(_) => return Ok(closed(p.link_status(now), &p, now)),
                Ok(_) => {
                    return Err(PortError::new(
                        "confirm_page",
                        "the store refused a confirmation the rules allow",
                    )
                    .into());
                }
            }
        }
        Checked::Refused(_) => return Ok(invalid_link(language)),
    };
    charge(app, p).await
}

fn complete(p: &Purchase) -> Response<String> {
    let (l, name, price) = (p.language, &p.product_name, p.price.in_language(p.language));
    let next = match p.fulfilment {
        Fulfilment::Digital => l.pick(
            "Your code follows by email, with the receipt.",
            "Votre code suit par email, avec le reçu.",
        ),
        Fulfilment::Physical => l.pick(
            "It ships soon, and a receipt follows by email.",
            "Il sera bientôt expédié, et un reçu suit par email.",
        ),
    };
    page(
        StatusCode::OK,
        l.pick(
            "Thank you, your purchase is complete",
            "Merci, votre achat est terminé",
        ),
        &paragraph(l.pick(
            format!("We charged {price} for {name}, once. {next}"),
            format!("Nous avons débité {price} pour {name}, une fois. {next}"),
        ))
        .in_language(l),
    )
}

/// Charges a confirmed purchase while the shopper waits, and says how it went; a charge
/// that cannot be made now is left to charge-card, through the event.
async fn charge(app: &App, p: Purchase) -> Result<Response<String>, StepError> {
    match charge_card::settle(app, p.clone()).await {
        Ok(Charged::Paid) => Ok(complete(&p)),
        Ok(Charged::NothingToDo(state)) if state.is_paid_for() => Ok(complete(&p)),
        Ok(Charged::Declined | Charged::NothingToDo(State::Declined)) => {
            let l = p.language;
            Ok(page(
                StatusCode::PAYMENT_REQUIRED,
                l.pick("Your card was declined", "Votre carte a été refusée"),
                &paragraph(l.pick(
                    "Nothing was charged. Check the card linked to your account, then post the hashtag again.",
                    "Rien n'a été débité. Vérifiez la carte liée à votre compte, puis postez à nouveau le hashtag.",
                ))
                .in_language(l),
            ))
        }
        // The bank's email is still going out (charge-card sends it): the page shows
        // its check all the same.
        Ok(Charged::AwaitingShopper) | Err(StepError::InFlight(_)) => {
            let asked = app.ports.purchases.get(&p.id).await?.unwrap_or(p);
            Ok(show(app, &asked).await)
        }
        Ok(_) => {
            let now = app.ports.clock.now();
            Ok(closed(p.link_status(now), &p, now))
        }
        Err(error) => {
            tracing::warn!(error = %error, "could not charge while the shopper waited; charge-card will");
            let event = Event::PurchaseConfirmed(PurchaseConfirmed {
                purchase_id: p.id.clone(),
            });
            app.ports.bus.publish(&event).await?;
            let (l, name) = (p.language, &p.product_name);
            let price = p.price.in_language(l);
            Ok(page(
                StatusCode::OK,
                l.pick(
                    "Thank you, your purchase is confirmed",
                    "Merci, votre achat est confirmé",
                ),
                &paragraph(l.pick(
                    format!(
                        "We are charging {price} for {name}, once. A receipt follows by email."
                    ),
                    format!("Nous débitons {price} pour {name}, une fois. Un reçu suit par email."),
                ))
                .in_language(l),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::Ports;
    use crate::domain::{ConfirmationRetweeted, ConfirmationToken};
    use crate::ports::{PaymentRequest, PaymentStatus, Payments, PortResult};
    use crate::steps::confirm_retweet;
    use crate::steps::testing::{BUYER, World, id, tweet};

    /// A purchase awaiting email confirmation; returns the path of its link.
    async fn emailed(w: &World, card: &str) -> String {
        let reply = w.requested(2, card).await.reply_tweet.expect("reply");
        let rt = ConfirmationRetweeted {
            tweet_id: tweet("600"),
            user_id: id(BUYER),
            brand_tweet_id: reply,
            request_tweet_id: None,
        };
        confirm_retweet::handle(&w.app, &rt).await.expect("retweet");
        w.emailed_link("Confirm your purchase").expect("link")
    }

    fn req(method: Method, path: &str) -> Request<Bytes> {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Bytes::new())
            .expect("request")
    }

    #[tokio::test]
    async fn the_page_speaks_the_shoppers_language_else_the_browsers() {
        let w = World::new();
        let p = Purchase {
            language: Language::Fr,
            ..w.requested(2, "pm_card_visa").await
        };
        let html = complete(&p).into_body();
        assert!(html.contains("<html lang=\"fr\">"), "{html}");
        assert!(html.contains("Merci, votre achat est terminé"), "{html}");
        assert!(html.contains("25,00\u{a0}$US"), "French money: {html}");
        let now = w.app.ports.clock.now();
        let html = closed(LinkStatus::Expired, &p, now).into_body();
        assert!(html.contains("Ce lien a expiré"), "{html}");
        let english = complete(&Purchase {
            language: Language::En,
            ..p
        });
        assert!(english.into_body().contains("<html lang=\"en\">"));

        let unknown = Request::builder()
            .uri("/confirm/nope")
            .header(http::header::ACCEPT_LANGUAGE, "fr-CA,fr;q=0.9")
            .body(Bytes::new())
            .expect("request");
        let html = handle(&w.app, unknown).await.into_body();
        assert!(html.contains("Ce lien n&#39;est pas valable"), "{html}");
    }

    #[tokio::test]
    async fn a_get_shows_the_button_and_confirms_nothing() {
        let w = World::new();
        let path = emailed(&w, "pm_card_visa").await;
        for _ in 0..3 {
            let response = handle(&w.app, req(Method::GET, &path)).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.body().contains("<form method=\"post\">"));
        }
        assert_eq!(
            w.purchase("500").await.state,
            State::AwaitingEmailConfirmation
        );
        assert!(w.bus.published().is_empty());
    }

    #[tokio::test]
    async fn a_post_confirms_and_charges_once_and_a_repeat_charges_nothing_more() {
        let w = World::new();
        let path = emailed(&w, "pm_card_visa").await;
        let first = handle(&w.app, req(Method::POST, &path)).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert!(first.body().contains("We charged"), "{}", first.body());
        let p = w.purchase("500").await;
        assert_eq!(p.state, State::Paid);
        let again = handle(&w.app, req(Method::POST, &path)).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.body().contains("once"), "{}", again.body());
        let charges = w.mem.cards.charges();
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].purchase, p.id);
        assert_eq!(w.mem.cards.payments().len(), 1, "one payment created");
        // A repeat publishes again: if the first publish was lost, this one ships.
        assert_eq!(w.event_names(), ["PaymentSucceeded", "PaymentSucceeded"]);
        let shown = handle(&w.app, req(Method::GET, &path)).await;
        assert!(shown.body().contains("Already confirmed"));
    }

    #[tokio::test]
    async fn a_declined_card_is_answered_on_the_page_and_the_unit_goes_back_on_sale() {
        let w = World::new();
        let path = emailed(&w, "pm_card_chargeDeclined").await;
        assert_eq!(w.stock("BuyGift25").await, 1);
        let response = handle(&w.app, req(Method::POST, &path)).await;
        assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
        assert!(response.body().contains("declined"));
        assert_eq!(w.purchase("500").await.state, State::Declined);
        assert_eq!(w.stock("BuyGift25").await, 2);
        let told = w
            .mem
            .x
            .posts()
            .into_iter()
            .filter(|p| p.text.contains("declined"));
        assert_eq!(told.count(), 1, "and on X, in case the page is closed");
        assert_eq!(w.event_names(), ["PaymentDeclined"]);
    }

    struct ProcessorDown;

    #[async_trait::async_trait]
    impl Payments for ProcessorDown {
        async fn create(&self, _: &PaymentRequest) -> PortResult<String> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn confirm(&self, _: &str) -> PortResult<PaymentStatus> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn status(&self, _: &str) -> PortResult<PaymentStatus> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn cancel(&self, _: &str) -> PortResult<PaymentStatus> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn refund(&self, _: &str, _: &str) -> PortResult<PaymentStatus> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn client_secret(&self, _: &str) -> PortResult<crate::settings::Secret> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn recorded(&self) -> PortResult<Vec<crate::ports::ProcessorPayment>> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn create_customer(&self, _: &str) -> PortResult<String> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn setup_card(&self, _: &str) -> PortResult<crate::ports::CardSetup> {
            Err(PortError::new("card processor", "timed out"))
        }
        async fn card_saved(&self, _: &str, _: &str) -> PortResult<crate::ports::CardSaved> {
            Err(PortError::new("card processor", "timed out"))
        }
    }

    #[tokio::test]
    async fn a_charge_that_cannot_be_made_now_is_left_to_charge_card() {
        let w = World::new();
        let path = emailed(&w, "pm_card_visa").await;
        let ports = Ports {
            payments: Arc::new(ProcessorDown),
            ..w.app.ports.clone()
        };
        let down = App {
            ports,
            ..w.app.clone()
        };
        let response = handle(&down, req(Method::POST, &path)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().contains("We are charging"));
        let p = w.purchase("500").await;
        assert_eq!(p.state, State::Confirmed);
        assert_eq!(w.event_names(), ["PurchaseConfirmed"]);
        let event = PurchaseConfirmed { purchase_id: p.id };
        assert_eq!(
            charge_card::handle(&w.app, &event).await.expect("charge"),
            Charged::Paid
        );
        assert_eq!(w.mem.cards.charges().len(), 1);
    }

    #[tokio::test]
    async fn after_the_window_the_link_is_dead_and_says_so() {
        let w = World::new();
        let path = emailed(&w, "pm_card_visa").await;
        w.advance(15 * 60);
        let response = handle(&w.app, req(Method::POST, &path)).await;
        assert_eq!(response.status(), StatusCode::GONE);
        assert!(response.body().contains("expired"));
        assert_eq!(
            handle(&w.app, req(Method::GET, &path)).await.status(),
            StatusCode::GONE
        );
        assert_eq!(
            w.purchase("500").await.state,
            State::AwaitingEmailConfirmation
        );
        assert!(w.bus.published().is_empty());
    }

    #[tokio::test]
    async fn bad_links_get_a_plain_404() {
        let w = World::new();
        let good = emailed(&w, "pm_card_visa").await;
        let token = ConfirmationToken::generate();
        let wrong_token = format!("/confirm/pur_500.{}", token.expose());
        let no_purchase = format!("/confirm/pur_999.{}", token.expose());
        let no_purchase_named = format!("/confirm/{}", token.expose());
        let other_purchase = good.replace("pur_500.", "pur_999.");
        for path in [
            "/confirm/",
            "/confirm/nope",
            "/confirm/%00%01",
            &wrong_token,
            &no_purchase,
            &no_purchase_named,
            &other_purchase,
        ] {
            let response = handle(&w.app, req(Method::POST, path)).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(response.body().contains("not valid"));
        }
        assert!(w.bus.published().is_empty());
        assert_eq!(
            handle(&w.app, req(Method::DELETE, &wrong_token))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn a_bank_that_wants_the_shopper_gets_stripe_js_on_the_page_behind_the_link() {
        let w = World::new();
        let path = emailed(&w, "pm_card_authenticationRequired").await;
        let plain = handle(&w.app, req(Method::POST, &path)).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(
            plain.body().contains("Your bank wants you to approve"),
            "{}",
            plain.body()
        );
        assert!(
            !plain.body().contains("<script"),
            "no Stripe.js configured: no script"
        );
        assert_eq!(w.purchase("500").await.state, State::AwaitingAuthentication);

        let js = crate::settings::StripeJs {
            url: "https://js.stripe.com/v3/".into(),
            publishable_key: "pk_test_page".into(),
        };
        let with_js = App {
            settings: crate::settings::Settings {
                stripe_js: Some(js),
                ..w.app.settings.clone()
            },
            ..w.app.clone()
        };
        let shown = handle(&with_js, req(Method::GET, &path)).await;
        let html = shown.body();
        assert!(
            html.contains(r#"<script src="https://js.stripe.com/v3/" nonce=""#),
            "{html}"
        );
        let payment = w.purchase("500").await.payment_intent.expect("recorded");
        assert!(
            html.contains(&format!(r#"data-secret="{payment}_secret_local""#)),
            "{html}"
        );
        assert!(html.contains(r#"data-key="pk_test_page""#), "{html}");
        let policy = shown
            .headers()
            .get(http::header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce");
        assert!(
            html.contains(&format!(r#"nonce="{nonce}""#)),
            "the page's scripts carry it"
        );
        assert!(
            policy.contains("script-src 'nonce-") && policy.contains("https://js.stripe.com"),
            "{policy}"
        );
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"),
            "{policy}"
        );
        let again = handle(&with_js, req(Method::GET, &path)).await;
        assert!(!again.body().contains(nonce), "a nonce per response");

        // Approved at the bank: the button posts back and the payment is read.
        w.mem.cards.authenticate(&payment, true).expect("approve");
        let done = handle(&with_js, req(Method::POST, &path)).await;
        assert!(done.body().contains("We charged"), "{}", done.body());
        assert_eq!(w.mem.cards.charges().len(), 1);
    }

    #[tokio::test]
    async fn the_bank_email_links_to_the_same_page_and_the_confirmation_link_still_works() {
        let w = World::new();
        let path = emailed(&w, "pm_card_authenticationRequired").await;
        let asked = handle(&w.app, req(Method::POST, &path)).await;
        assert!(asked.body().contains("Your bank wants you to approve"));
        let bank = w.emailed_link("bank").expect("the bank's email has a link");
        assert_ne!(bank, path, "a link of its own");
        for link in [&bank, &path] {
            let shown = handle(&w.app, req(Method::GET, link)).await;
            assert_eq!(shown.status(), StatusCode::OK, "{link}");
            assert!(shown.body().contains("Your bank wants you to approve"));
        }
        // A bank link for another purchase, or altered, opens nothing.
        let other = bank.replacen("/confirm/pur_500.", "/confirm/pur_501.", 1);
        let last = if bank.ends_with('A') { "E" } else { "A" };
        let altered = format!("{}{last}", &bank[..bank.len() - 1]);
        for link in [other, altered] {
            let refused = handle(&w.app, req(Method::POST, &link)).await;
            assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{link}");
        }
        assert!(w.mem.cards.charges().is_empty());

        let payment = w.purchase("500").await.payment_intent.expect("recorded");
        w.mem.cards.authenticate(&payment, true).expect("approve");
        let done = handle(&w.app, req(Method::POST, &bank)).await;
        assert!(done.body().contains("We charged"), "{}", done.body());
        let again = handle(&w.app, req(Method::POST, &path)).await;
        assert!(again.body().contains("We charged"), "{}", again.body());
        assert_eq!(w.mem.cards.charges().len(), 1, "charged once");
    }
}
