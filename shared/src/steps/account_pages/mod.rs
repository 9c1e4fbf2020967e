//! The account pages, where a shopper joins: `GET /account` (what hashbuy is, "Sign in
//! with X"), sign-in with X (OAuth 2.0 with PKCE), then an email address verified by a
//! link, a card saved at the processor (Stripe.js; hashbuy never sees the number), a
//! shipping address and a language; unlink, and delete my data. Every form posts a CSRF
//! token; every change is a conditional write of the profile, then the linked account
//! buying by post reads is made to match it.

mod session;
mod view;
mod words;

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use tracing::Instrument;

use self::session::{
    IDLE_FOR, SESSION_COOKIE, SIGN_IN_COOKIE, SIGN_IN_FOR, Sealer, Session, SignIn, set_cookie,
};
use self::view::{CardForm, Field, Form, Section, View, Writes, nonce, render};
use self::words::{Words, words};
use crate::adapters::x_sign_in::{SignInError, XSignIn};
use crate::app::App;
use crate::domain::{
    EmailAddress, EmailToken, Language, NotVerified, Profile, ShippingAddress, Timestamp,
};
use crate::messages;
use crate::ports::{CardSaved, PortResult};
use crate::steps::pages::browser_language;
use crate::x::oauth2;

pub const PREFIX: &str = "/account";
/// The account page shows this many of the shopper's latest purchases.
const PURCHASES_SHOWN: usize = 20;
/// Deleting one's data erases up to this many purchases (run again for more).
const ERASE_AT_MOST: usize = 500;
/// What a signed-in stranger could make hashbuy spend on someone else, bounded: each
/// verification email lands in an inbox that may not be theirs (per account an hour, and
/// per address a day from every account together), and each card page opens a setup at
/// the processor (per account an hour).
const EMAILS_PER_ACCOUNT_HOUR: u64 = 5;
const EMAILS_PER_ADDRESS_DAY: u64 = 3;
const CARD_SETUPS_PER_ACCOUNT_HOUR: u64 = 10;
const SIGN_IN: &str = "/account/signin";
const CALLBACK: &str = "/account/callback";
const VERIFY: &str = "/account/verify/";

pub async fn handle(
    app: &App,
    sign_in: Option<&XSignIn>,
    request: Request<Bytes>,
) -> Response<String> {
    let span = tracing::info_span!(
        "account_pages",
        method = %request.method(),
        path = route_name(request.uri().path())
    );
    async {
        let response = match Pages::new(app, sign_in, &request).await {
            Some(pages) => pages.respond(&request).await,
            None => {
                let w = words(browser_language(&request));
                render(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &View::new(w, w.refused_title).paragraph(w.busy),
                )
            }
        };
        tracing::info!(status = response.status().as_u16(), "account page answered");
        response
    }
    .instrument(span)
    .await
}

/// Whether the page at `path` needs X's OAuth client (whose secret is read on first use).
pub fn signs_in(path: &str) -> bool {
    path == SIGN_IN || path == CALLBACK
}

/// The path as logged: a verification link's token is never written anywhere.
fn route_name(path: &str) -> &str {
    if path.starts_with(VERIFY) {
        VERIFY
    } else {
        path
    }
}

/// One request's view of the pages: the app, X, the cookie key, the time, and where
/// hashbuy is served from (the API's own domain: API Gateway delivers no other `Host`).
struct Pages<'a> {
    app: &'a App,
    sign_in: Option<&'a XSignIn>,
    sealer: Sealer,
    now: Timestamp,
    origin: String,
    secure: bool,
    language: Language,
}

/// What a POST needs: the session, its profile, the form.
struct Posted {
    session: Session,
    profile: Profile,
    form: HashMap<String, String>,
}

impl<'a> Pages<'a> {
    async fn new(
        app: &'a App,
        sign_in: Option<&'a XSignIn>,
        request: &Request<Bytes>,
    ) -> Option<Self> {
        let key = app
            .ports
            .vault
            .derive("account cookies")
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "no cookie key"))
            .ok()?;
        let headers = request.headers();
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("https");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok())?;
        Some(Self {
            app,
            sign_in,
            sealer: Sealer::new(&key)?,
            now: app.ports.clock.now(),
            origin: format!("{scheme}://{host}"),
            secure: scheme == "https",
            language: browser_language(request),
        })
    }

    fn words(&self, profile: Option<&Profile>) -> &'static Words {
        words(profile.and_then(|p| p.language).unwrap_or(self.language))
    }

    async fn respond(&self, request: &Request<Bytes>) -> Response<String> {
        let path = request.uri().path();
        let method = request.method();
        let result = match (method, path) {
            (&Method::GET, PREFIX) => self.home(request).await,
            (&Method::GET, SIGN_IN) => Ok(self.start_sign_in()),
            (&Method::GET, CALLBACK) => self.finish_sign_in(request).await,
            (&Method::GET, "/account/card") => self.card_page(request).await,
            (&Method::GET, p) if p.starts_with(VERIFY) => Ok(self.verify_page(p)),
            (&Method::POST, p) if p.starts_with(VERIFY) => self.verify(p).await,
            (&Method::POST, "/account/signout") => self.sign_out(request).await,
            (&Method::POST, p) => self.change(p, request).await,
            _ => Ok(self.refused(StatusCode::NOT_FOUND, None, "Not found")),
        };
        result.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "account page not served; the shopper may retry");
            let w = self.words(None);
            render(
                StatusCode::SERVICE_UNAVAILABLE,
                &View::new(w, w.refused_title).paragraph(w.busy),
            )
        })
    }

    /// A page saying why nothing happened, with a way back.
    fn refused(
        &self,
        status: StatusCode,
        profile: Option<&Profile>,
        why: &str,
    ) -> Response<String> {
        let w = self.words(profile);
        let view = View::new(w, w.refused_title)
            .paragraph(why)
            .link(PREFIX, w.back);
        render(status, &view)
    }

    fn session(&self, request: &Request<Bytes>) -> Option<Session> {
        self.sealer.session(request.headers(), self.now)
    }

    async fn home(&self, request: &Request<Bytes>) -> PortResult<Response<String>> {
        let signed_in = match self.session(request) {
            Some(session) => self
                .app
                .ports
                .accounts
                .profile(&session.user)
                .await?
                .map(|p| (session, p)),
            None => None,
        };
        match signed_in {
            Some((session, profile)) => {
                self.account_page(StatusCode::OK, session, &profile, None)
                    .await
            }
            None => Ok(self.welcome()),
        }
    }

    fn welcome(&self) -> Response<String> {
        let w = self.words(None);
        let mut view = View::new(w, w.welcome_title);
        for paragraph in w.welcome {
            view = view.paragraph(paragraph);
        }
        let view = view.link(SIGN_IN, w.sign_in).link("/offers", w.offers_link);
        render(StatusCode::OK, &view)
    }

    /// The account page, renewing the session's idle time.
    async fn account_page(
        &self,
        status: StatusCode,
        session: Session,
        p: &Profile,
        notice: Option<&str>,
    ) -> PortResult<Response<String>> {
        let w = self.words(Some(p));
        let language = p.language.unwrap_or(self.language);
        let bought = self
            .app
            .ports
            .purchases
            .by_buyer(&p.x_user_id, PURCHASES_SHOWN)
            .await?;
        let mut purchases = Section::new("purchases", w.purchases_heading);
        if bought.is_empty() {
            purchases = purchases.paragraph(w.purchases_none);
        }
        for b in &bought {
            let mut line = format!(
                "{} · {} · {} · {}",
                b.product_name,
                b.price.in_language(language),
                words::state(language, b.state),
                &b.created_at.rfc3339()[..10]
            );
            if let Some(shipment) = &b.shipment {
                line.push_str(&format!(" · {} {}", shipment.carrier, shipment.tracking));
            }
            purchases = purchases.paragraph(line);
        }
        let csrf = session.csrf.as_str();
        let mut view = View::new(w, w.account_title)
            .paragraph(format!("{} @{}", w.signed_in_as, p.screen_name))
            .paragraph(match (p.linked_account(), p.linked) {
                (Some(_), _) => w.can_buy,
                (None, false) => w.unlinked_note,
                (None, true) => w.cannot_buy_yet,
            });
        if let Some(notice) = notice {
            view = view.notice(notice);
        }
        let email = Section::new("email", w.email_heading).paragraph(match &p.email {
            None => w.email_none.to_owned(),
            Some(e) if e.verified => format!("{} {}", w.email_verified, e.address.as_str()),
            Some(e) => format!("{} {}", w.email_waiting, e.address.as_str()),
        });
        let current = p
            .email
            .as_ref()
            .map(|e| e.address.as_str())
            .unwrap_or_default();
        let email = email.form(
            Form::button("/account/email", csrf, w.email_button)
                .field(Field::text("email", w.email_label, current, "email").kind("email")),
        );
        let card = Section::new("card", w.card_heading)
            .paragraph(match &p.card {
                None => w.card_none.to_owned(),
                Some(c) => format!("{} {} •••• {}", w.card_saved, c.brand, c.last4),
            })
            .paragraph(w.card_never_seen)
            .link("/account/card", w.card_link);
        let a = p.shipping_address.clone();
        let value =
            |f: fn(&ShippingAddress) -> &str| a.as_ref().map(f).unwrap_or_default().to_owned();
        let [name, line1, line2, city, postal, country] = w.address_fields;
        let mut address = Section::new("address", w.address_heading);
        if a.is_none() {
            address = address.paragraph(w.address_none);
        }
        let address = address.form(
            Form::button("/account/address", csrf, w.address_button)
                .field(Field::text("name", name, &value(|a| &a.name), "name"))
                .field(Field::text(
                    "line1",
                    line1,
                    &value(|a| &a.line1),
                    "address-line1",
                ))
                .field(
                    Field::text("line2", line2, &value(|a| &a.line2), "address-line2").optional(),
                )
                .field(Field::text(
                    "city",
                    city,
                    &value(|a| &a.city),
                    "address-level2",
                ))
                .field(Field::text(
                    "postal_code",
                    postal,
                    &value(|a| &a.postal_code),
                    "postal-code",
                ))
                .field(Field::text(
                    "country",
                    country,
                    &value(|a| &a.country),
                    "country",
                )),
        );
        let chosen = p.language.unwrap_or(self.language);
        let language = Section::new("language", w.language_heading).form(
            Form::button("/account/language", csrf, w.language_button).field(
                Field::text("language", w.language_label, "", "off").options(vec![
                    ("en", "English", chosen == Language::En),
                    ("fr", "Français", chosen == Language::Fr),
                ]),
            ),
        );
        let link = Section::new("link", w.link_heading).form(if p.linked {
            Form::button("/account/unlink", csrf, w.unlink_button)
        } else {
            Form::button("/account/link", csrf, w.relink_button)
        });
        let delete = Section::new("delete", w.delete_heading)
            .paragraph(w.delete_note)
            .form(Form::button("/account/delete", csrf, w.delete_button));
        let signout = Section::new("signout", w.sign_out).form(Form::button(
            "/account/signout",
            csrf,
            w.sign_out,
        ));
        let view = view
            .section(purchases)
            .section(email)
            .section(card)
            .section(address)
            .section(language)
            .section(link)
            .section(delete)
            .section(signout)
            .link("/offers", w.offers_link);
        let mut response = render(status, &view);
        self.set_session(&mut response, &session);
        Ok(response)
    }

    fn set_session(&self, response: &mut Response<String>, session: &Session) {
        let renewed = Session {
            expires: self.now.plus(IDLE_FOR),
            ..session.clone()
        };
        if let Some(sealed) = self.sealer.seal(SESSION_COOKIE, &renewed) {
            self.set_cookie(
                response,
                &set_cookie(SESSION_COOKIE, &sealed, IDLE_FOR, self.secure),
            );
        }
    }

    fn set_cookie(&self, response: &mut Response<String>, cookie: &str) {
        if let Ok(value) = header::HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }

    fn forget(&self, response: &mut Response<String>, name: &str) {
        self.set_cookie(
            response,
            &set_cookie(name, "", std::time::Duration::ZERO, self.secure),
        );
    }

    fn redirect(&self, to: &str) -> Response<String> {
        let mut response = Response::new(String::new());
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(location) = header::HeaderValue::from_str(to) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        response
    }

    fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK}", self.origin)
    }

    /// To X's authorize page, with a fresh state and verifier kept in a sealed cookie.
    fn start_sign_in(&self) -> Response<String> {
        let Some(x) = self.sign_in else {
            let w = self.words(None);
            return self.refused(StatusCode::SERVICE_UNAVAILABLE, None, w.busy);
        };
        let flow = SignIn {
            state: oauth2::state(),
            verifier: oauth2::verifier(),
            expires: self.now.plus(SIGN_IN_FOR),
        };
        let Some(sealed) = self.sealer.seal(SIGN_IN_COOKIE, &flow) else {
            return self.refused(StatusCode::SERVICE_UNAVAILABLE, None, self.words(None).busy);
        };
        let mut response =
            self.redirect(&x.authorize_url(&self.redirect_uri(), &flow.state, &flow.verifier));
        self.set_cookie(
            &mut response,
            &set_cookie(SIGN_IN_COOKIE, &sealed, SIGN_IN_FOR, self.secure),
        );
        response
    }

    /// X sent the browser back: the state must be the cookie's, then the code is
    /// exchanged with the cookie's verifier. Anything else: a clear page, nothing stored.
    async fn finish_sign_in(&self, request: &Request<Bytes>) -> PortResult<Response<String>> {
        let w = self.words(None);
        let query: HashMap<String, String> =
            form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let flow = self.sealer.sign_in(request.headers(), self.now);
        let matched = match (&flow, query.get("state")) {
            (Some(flow), Some(state)) => bool::from(subtle::ConstantTimeEq::ct_eq(
                flow.state.as_bytes(),
                state.as_bytes(),
            )),
            _ => false,
        };
        let (Some(x), Some(flow), Some(code), true, None) = (
            self.sign_in,
            flow,
            query.get("code"),
            matched,
            query.get("error"),
        ) else {
            tracing::info!(
                cookie = self.sealer.sign_in(request.headers(), self.now).is_some(),
                state_matched = matched,
                x_error = query.contains_key("error"),
                "sign-in refused"
            );
            let mut response = self.refused(StatusCode::BAD_REQUEST, None, w.sign_in_refused);
            self.forget(&mut response, SIGN_IN_COOKIE);
            return Ok(response);
        };
        let user = match x.user(code, &flow.verifier, &self.redirect_uri()).await {
            Ok(user) => user,
            Err(error) => {
                tracing::info!(error = %error, "X did not sign the shopper in");
                let status = match error {
                    SignInError::Refused(_) => StatusCode::BAD_REQUEST,
                    SignInError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                };
                let mut response = self.refused(status, None, w.sign_in_refused);
                self.forget(&mut response, SIGN_IN_COOKIE);
                return Ok(response);
            }
        };
        let accounts = &self.app.ports.accounts;
        match accounts.profile(&user.id).await? {
            None => {
                // The browser's language until the shopper chooses one.
                let profile = Profile {
                    language: Some(self.language),
                    ..Profile::new(user.id.clone(), user.username)
                };
                // A second sign-in racing this one made the same profile: either is fine.
                accounts.save_profile(None, &profile).await?;
            }
            Some(before) if before.screen_name != user.username => {
                let after = Profile {
                    screen_name: user.username,
                    revision: before.revision + 1,
                    ..before.clone()
                };
                if accounts.save_profile(Some(&before), &after).await? {
                    self.sync(&after).await?;
                }
            }
            Some(_) => {}
        }
        tracing::info!(x_user_id = %user.id, "signed in with X");
        let mut response = self.redirect(PREFIX);
        self.forget(&mut response, SIGN_IN_COOKIE);
        self.set_session(&mut response, &Session::new(user.id, self.now));
        Ok(response)
    }

    /// The session, its profile and the form of a POST whose CSRF token is the
    /// session's; else the page to answer instead.
    async fn posted(
        &self,
        request: &Request<Bytes>,
    ) -> PortResult<Result<Posted, Response<String>>> {
        let w = self.words(None);
        let Some(session) = self.session(request) else {
            return Ok(Err(self.refused(
                StatusCode::UNAUTHORIZED,
                None,
                w.session_over,
            )));
        };
        let Some(profile) = self.app.ports.accounts.profile(&session.user).await? else {
            return Ok(Err(self.refused(
                StatusCode::UNAUTHORIZED,
                None,
                w.session_over,
            )));
        };
        let form: HashMap<String, String> = form_urlencoded::parse(request.body())
            .into_owned()
            .collect();
        if !session.allows(form.get("csrf").map(String::as_str)) {
            tracing::info!("a form without this session's token refused");
            return Ok(Err(self.refused(
                StatusCode::FORBIDDEN,
                Some(&profile),
                self.words(Some(&profile)).form_refused,
            )));
        }
        Ok(Ok(Posted {
            session,
            profile,
            form,
        }))
    }

    /// Saves `after` over `before` (a conditional write), then makes the linked account
    /// match it. False when another change came first.
    async fn save(&self, before: &Profile, after: Profile) -> PortResult<bool> {
        let after = Profile {
            revision: before.revision + 1,
            ..after
        };
        if !self
            .app
            .ports
            .accounts
            .save_profile(Some(before), &after)
            .await?
        {
            return Ok(false);
        }
        self.sync(&after).await?;
        Ok(true)
    }

    /// The account buying by post reads, as the profile says: linked when complete and
    /// not unlinked, else none. Run after every save; running it twice changes nothing.
    async fn sync(&self, profile: &Profile) -> PortResult<()> {
        let accounts = &self.app.ports.accounts;
        match profile.linked_account() {
            Some(account) => accounts.link(&account).await,
            None => accounts.unlink(&profile.x_user_id).await,
        }
    }

    /// The POSTs that change the profile.
    async fn change(&self, path: &str, request: &Request<Bytes>) -> PortResult<Response<String>> {
        let Posted {
            session,
            profile,
            form,
        } = match self.posted(request).await? {
            Ok(posted) => posted,
            Err(page) => return Ok(page),
        };
        let w = self.words(Some(&profile));
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        let (after, notice) = match path {
            "/account/email" => {
                let Ok(address) = EmailAddress::parse(field("email")) else {
                    return self
                        .account_page(
                            StatusCode::BAD_REQUEST,
                            session,
                            &profile,
                            Some(w.email_invalid),
                        )
                        .await;
                };
                if !self.within_email_budget(&profile, &address).await? {
                    return Ok(self.refused(
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(&profile),
                        w.too_many,
                    ));
                }
                let (after, token) = profile.with_email(address.clone(), self.now);
                if !self.save(&profile, after.clone()).await? {
                    return Ok(self.refused(StatusCode::CONFLICT, Some(&profile), w.form_refused));
                }
                let link = format!("{}{VERIFY}{}", self.origin, token.expose());
                let language = profile.language.unwrap_or(self.language);
                self.app
                    .ports
                    .mailer
                    .send(&messages::verify_email(&address, language, &link))
                    .await?;
                return self.after_change(session, &profile, w.email_sent).await;
            }
            "/account/address" => {
                let raw = ShippingAddress {
                    name: field("name").into(),
                    line1: field("line1").into(),
                    line2: field("line2").into(),
                    city: field("city").into(),
                    postal_code: field("postal_code").into(),
                    country: field("country").into(),
                };
                let Ok(address) = ShippingAddress::parse(raw) else {
                    return self
                        .account_page(
                            StatusCode::BAD_REQUEST,
                            session,
                            &profile,
                            Some(w.address_invalid),
                        )
                        .await;
                };
                (
                    Profile {
                        shipping_address: Some(address),
                        ..profile.clone()
                    },
                    w.address_saved,
                )
            }
            "/account/language" => {
                let Ok(language) = Language::parse(field("language")) else {
                    return Ok(self.refused(
                        StatusCode::BAD_REQUEST,
                        Some(&profile),
                        w.form_refused,
                    ));
                };
                (
                    Profile {
                        language: Some(language),
                        ..profile.clone()
                    },
                    "",
                )
            }
            "/account/unlink" => (
                Profile {
                    linked: false,
                    ..profile.clone()
                },
                "",
            ),
            "/account/link" => (
                Profile {
                    linked: true,
                    ..profile.clone()
                },
                "",
            ),
            "/account/card" => return self.card_saved(session, &profile, field("setup")).await,
            "/account/delete" => return self.delete(&profile).await,
            _ => return Ok(self.refused(StatusCode::NOT_FOUND, Some(&profile), "Not found")),
        };
        if !self.save(&profile, after).await? {
            return Ok(self.refused(StatusCode::CONFLICT, Some(&profile), w.form_refused));
        }
        self.after_change(session, &profile, notice).await
    }

    /// The account page as it is now, with what just happened.
    async fn after_change(
        &self,
        session: Session,
        before: &Profile,
        notice: &str,
    ) -> PortResult<Response<String>> {
        let profile = self.app.ports.accounts.profile(&before.x_user_id).await?;
        let profile = profile.unwrap_or_else(|| before.clone());
        let notice = (!notice.is_empty()).then_some(notice);
        self.account_page(StatusCode::OK, session, &profile, notice)
            .await
    }

    /// The card page: a setup for the shopper's customer (made on first use), confirmed
    /// by Stripe.js in the page.
    async fn card_page(&self, request: &Request<Bytes>) -> PortResult<Response<String>> {
        let w = self.words(None);
        let Some(session) = self.session(request) else {
            return Ok(self.refused(StatusCode::UNAUTHORIZED, None, w.session_over));
        };
        let Some(mut profile) = self.app.ports.accounts.profile(&session.user).await? else {
            return Ok(self.refused(StatusCode::UNAUTHORIZED, None, w.session_over));
        };
        let w = self.words(Some(&profile));
        let Some(js) = self.app.settings.stripe_js.clone() else {
            return Ok(self.refused(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&profile),
                w.card_unavailable,
            ));
        };
        let payments = &self.app.ports.payments;
        let customer = match profile.customer.clone() {
            Some(customer) => customer,
            None => {
                let customer = payments.create_customer(profile.x_user_id.as_str()).await?;
                let after = Profile {
                    customer: Some(customer.clone()),
                    ..profile.clone()
                };
                if !self.save(&profile, after).await? {
                    return Ok(self.refused(StatusCode::CONFLICT, Some(&profile), w.form_refused));
                }
                profile.revision += 1;
                customer
            }
        };
        let hour = self.now.seconds() / 3600;
        let budget = format!("card-setups:{}:{hour}", profile.x_user_id);
        let effects = &self.app.ports.effects;
        if !effects
            .spend(&budget, CARD_SETUPS_PER_ACCOUNT_HOUR, self.now)
            .await?
        {
            return Ok(self.refused(StatusCode::TOO_MANY_REQUESTS, Some(&profile), w.too_many));
        }
        let setup = payments.setup_card(&customer).await?;
        let view = View {
            card: Some(CardForm {
                js_origin: js.origin().to_owned(),
                js_url: js.url,
                publishable_key: js.publishable_key,
                client_secret: setup.client_secret.expose().to_owned(),
                setup: setup.id,
                csrf: session.csrf.clone(),
                button: w.card_button.to_owned(),
                nonce: nonce(),
            }),
            ..View::new(w, w.card_title).paragraph(w.card_never_seen)
        }
        .link(PREFIX, w.back);
        let mut response = render(StatusCode::OK, &view);
        self.set_session(&mut response, &session);
        Ok(response)
    }

    /// The card page posted back: the setup is read from the processor, and only the
    /// shopper's own customer's card is saved.
    async fn card_saved(
        &self,
        session: Session,
        profile: &Profile,
        setup: &str,
    ) -> PortResult<Response<String>> {
        let w = self.words(Some(profile));
        let Some(customer) = profile.customer.as_deref().filter(|_| !setup.is_empty()) else {
            return Ok(self.refused(StatusCode::BAD_REQUEST, Some(profile), w.form_refused));
        };
        match self.app.ports.payments.card_saved(setup, customer).await {
            Ok(CardSaved::Saved(card)) => {
                let after = Profile {
                    card: Some(card),
                    ..profile.clone()
                };
                if !self.save(profile, after).await? {
                    return Ok(self.refused(StatusCode::CONFLICT, Some(profile), w.form_refused));
                }
                tracing::info!(x_user_id = %profile.x_user_id, "card saved");
                self.after_change(session, profile, w.card_done).await
            }
            Ok(CardSaved::Refused) => {
                self.account_page(StatusCode::OK, session, profile, Some(w.card_refused))
                    .await
            }
            // The form was sent before the processor had the card (incomplete, or the
            // bank's challenge abandoned): nothing saved, nothing refused.
            Ok(CardSaved::NotYet) => {
                self.account_page(StatusCode::OK, session, profile, Some(w.card_not_saved))
                    .await
            }
            Ok(CardSaved::NotYours) => {
                tracing::warn!(x_user_id = %profile.x_user_id, "a card setup of another customer's refused");
                Ok(self.refused(StatusCode::BAD_REQUEST, Some(profile), w.form_refused))
            }
            Err(error) => {
                tracing::warn!(error = %error, "card not read from the processor");
                self.account_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    session,
                    profile,
                    Some(w.card_unavailable),
                )
                .await
            }
        }
    }

    /// Whether one more verification email may go: within the account's hourly budget and
    /// the address's daily one (the address hashed in the key, never stored plain there).
    async fn within_email_budget(&self, profile: &Profile, to: &EmailAddress) -> PortResult<bool> {
        use sha2::{Digest, Sha256};
        let effects = &self.app.ports.effects;
        let (hour, day) = (self.now.seconds() / 3600, self.now.seconds() / 86_400);
        let account = format!("verify-emails:{}:{hour}", profile.x_user_id);
        if !effects
            .spend(&account, EMAILS_PER_ACCOUNT_HOUR, self.now)
            .await?
        {
            tracing::info!(x_user_id = %profile.x_user_id, "verification emails: the account's budget is spent");
            return Ok(false);
        }
        let address = to.as_str().to_ascii_lowercase();
        let hashed: String = Sha256::digest(address.as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        let inbox = format!("verify-emails-to:{hashed}:{day}");
        let open = effects
            .spend(&inbox, EMAILS_PER_ADDRESS_DAY, self.now)
            .await?;
        if !open {
            tracing::info!(x_user_id = %profile.x_user_id, "verification emails: the address's budget is spent");
        }
        Ok(open)
    }

    /// The emailed link opens a page whose button verifies: a mail scanner that follows
    /// links verifies nothing.
    fn verify_page(&self, path: &str) -> Response<String> {
        let w = self.words(None);
        if EmailToken::parse(&path[VERIFY.len()..]).is_none() {
            return self.refused(StatusCode::NOT_FOUND, None, w.link_unknown);
        }
        let view = View::new(w, w.verify_title).paragraph(w.verify_intro);
        let view = view.section(Section::new("verify", w.verify_title).form(Form::button(
            "",
            "",
            w.verify_button,
        )));
        render(StatusCode::OK, &view)
    }

    async fn verify(&self, path: &str) -> PortResult<Response<String>> {
        let w = self.words(None);
        let Some(token) = EmailToken::parse(&path[VERIFY.len()..]) else {
            return Ok(self.refused(StatusCode::NOT_FOUND, None, w.link_unknown));
        };
        let user = token.user();
        let Some(profile) = self.app.ports.accounts.profile(user).await? else {
            return Ok(self.refused(StatusCode::NOT_FOUND, None, w.link_unknown));
        };
        let w = self.words(Some(&profile));
        let after = match profile.verified(&token, self.now) {
            Ok(after) => after,
            Err(NotVerified::Unknown) => {
                return Ok(self.refused(StatusCode::NOT_FOUND, Some(&profile), w.link_unknown));
            }
            Err(NotVerified::Expired) => {
                return Ok(self.refused(StatusCode::GONE, Some(&profile), w.link_expired));
            }
        };
        if !self.save(&profile, after).await? {
            return Ok(self.refused(StatusCode::CONFLICT, Some(&profile), w.form_refused));
        }
        tracing::info!(x_user_id = %user, "email verified");
        let view = View::new(w, w.verify_title)
            .notice(w.verified)
            .link(PREFIX, w.back);
        Ok(render(StatusCode::OK, &view))
    }

    /// Buying stops first, then the personal fields of the purchases that are over are
    /// erased, then the profile goes; run twice, the second finds nothing left to do. A
    /// purchase still in flight finishes with what it holds (the page says so).
    async fn delete(&self, profile: &Profile) -> PortResult<Response<String>> {
        let accounts = &self.app.ports.accounts;
        let purchases = &self.app.ports.purchases;
        accounts.unlink(&profile.x_user_id).await?;
        let mut in_flight = 0;
        for p in purchases
            .by_buyer(&profile.x_user_id, ERASE_AT_MOST)
            .await?
        {
            match p.erased(self.now) {
                // A purchase that changed since it was read is erased by the next delete.
                Some(change) => {
                    purchases.apply(&change).await?;
                }
                None if !p.is_over() => in_flight += 1,
                None => {}
            }
        }
        accounts.delete_profile(&profile.x_user_id).await?;
        tracing::info!(x_user_id = %profile.x_user_id, in_flight, "account deleted");
        let w = self.words(Some(profile));
        let mut view = View::new(w, w.deleted_title).paragraph(w.deleted);
        if in_flight > 0 {
            view = view.paragraph(w.deleted_in_flight);
        }
        let view = view.link("/offers", w.offers_link);
        let mut response = render(StatusCode::OK, &view);
        self.forget(&mut response, SESSION_COOKIE);
        Ok(response)
    }

    async fn sign_out(&self, request: &Request<Bytes>) -> PortResult<Response<String>> {
        if let Err(page) = self.posted(request).await? {
            return Ok(page);
        }
        let mut response = self.redirect(PREFIX);
        self.forget(&mut response, SESSION_COOKIE);
        Ok(response)
    }
}
