//! hashbuy's pages: small, self-contained, no scripts — except the one where a shopper
//! answers their bank, which loads Stripe.js and one inline script, both let in by a
//! nonce drawn for that response. The HTML is an askama template
//! (`shared/templates/page.html`), which escapes every value it is given.

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::domain::Language;
use crate::settings::{Secret, StripeJs};
use http::{Response, StatusCode, header};

/// The one stylesheet of every page, inlined by `base.html` (no request more, nothing
/// to host): readable on a phone, high contrast, a visible focus.
pub(crate) const STYLE: &str = include_str!("../../templates/style.css");

/// What every HTML response may do: no scripts or images from anywhere, no style but
/// [`STYLE`] (by its SHA-256, which a test holds to the file), forms posting only back
/// here, and no framing (no clickjacking of the Confirm button). Pages that run Stripe.js
/// add to it.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; \
     style-src 'sha256-Yz8nlzMyRv7DjUMlE+B8Fck06jzh7rPydPMZyLAY2Jc='";

/// What a page says under its title: paragraphs of plain text, and a button that posts
/// back to the page, if it has one.
#[derive(Debug, Default)]
pub(crate) struct Body {
    language: Language,
    paragraphs: Vec<String>,
    button: Option<String>,
    bank: Option<BankCheck>,
}

/// What the page needs to let the shopper answer their bank with Stripe.js; when it is
/// done, the page posts back, and the payment is read from the processor.
#[derive(Debug)]
pub(crate) struct BankCheck {
    js: StripeJs,
    /// The payment's client secret: shown only behind the emailed link, never logged.
    client_secret: String,
    payment_method: String,
    nonce: String,
    /// The button, and what the page says while and after the bank answers.
    labels: [&'static str; 4],
}

impl BankCheck {
    pub(crate) fn new(
        js: StripeJs,
        client_secret: &Secret,
        payment_method: &str,
        language: Language,
    ) -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self {
            js,
            client_secret: client_secret.expose().to_owned(),
            payment_method: payment_method.to_owned(),
            nonce: URL_SAFE_NO_PAD.encode(bytes),
            labels: language.pick(
                [
                    "Approve with my bank",
                    "Waiting for your bank...",
                    "Your bank did not approve it.",
                    "Approved. Checking...",
                ],
                [
                    "Approuver avec ma banque",
                    "En attente de votre banque...",
                    "Votre banque ne l'a pas approuvé.",
                    "Approuvé. Vérification...",
                ],
            ),
        }
    }

    /// The page's policy with Stripe.js let in: its script by origin and ours by nonce,
    /// Stripe's frames for the bank's challenge, and its API for the answer.
    fn policy(&self) -> String {
        let origin = self.js.origin();
        format!(
            "{CONTENT_SECURITY_POLICY}; script-src 'nonce-{}' {origin}; \
             frame-src {origin} https://hooks.stripe.com; connect-src {origin} https://api.stripe.com",
            self.nonce
        )
    }
}

/// A body of one paragraph.
pub(crate) fn paragraph(text: impl Into<String>) -> Body {
    Body::default().then(text)
}

impl Body {
    /// This body, said in `language` (the page's `lang`).
    pub(crate) fn in_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// This body with one more paragraph.
    pub(crate) fn then(mut self, text: impl Into<String>) -> Self {
        self.paragraphs.push(text.into());
        self
    }

    /// This body with Stripe.js, to answer the shopper's bank.
    pub(crate) fn with_bank_check(mut self, bank: BankCheck) -> Self {
        self.bank = Some(bank);
        self
    }

    /// This body with a button that POSTs to the page.
    pub(crate) fn with_button(mut self, label: impl Into<String>) -> Self {
        self.button = Some(label.into());
        self
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    title: &'a str,
    body: &'a Body,
}

pub(crate) fn page(status: StatusCode, title: &str, body: &Body) -> Response<String> {
    let html = Page { title, body }.render().unwrap_or_else(|error| {
        // Only a failing `Display` of a value could get here; none of ours fails.
        tracing::error!(error = %error, "page did not render");
        String::from("<!doctype html><title>hashbuy</title><p>Please try again.</p>")
    });
    // A confirmation page is the shopper's own: never cached.
    let mut response = hardened(status, html, "no-store");
    let policy = body.bank.as_ref().map(BankCheck::policy);
    if let Some(Ok(policy)) = policy.map(|p| header::HeaderValue::from_str(&p)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// The language a browser asks for (`Accept-Language`) among hashbuy's; English without.
pub(crate) fn browser_language<B>(request: &http::Request<B>) -> Language {
    request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Language::En, Language::from_accept_language)
}

/// An HTML response with the headers every hashbuy page carries, and `cache` as its
/// `Cache-Control`.
pub(crate) fn hardened(status: StatusCode, html: String, cache: &'static str) -> Response<String> {
    let mut response = Response::new(html);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, cache),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_carries_the_hardening_headers() {
        let response = page(StatusCode::OK, "Confirm", &paragraph("x"));
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let csp = header(header::CONTENT_SECURITY_POLICY);
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("script-src"), "no page needs a script: {csp}");
        assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(header::X_FRAME_OPTIONS), "DENY");
        assert_eq!(header(header::CACHE_CONTROL), "no-store");
    }

    #[test]
    fn the_policy_lets_in_the_stylesheet_every_page_inlines_and_no_other() {
        use base64::engine::general_purpose::STANDARD;
        use sha2::{Digest, Sha256};
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        assert!(
            CONTENT_SECURITY_POLICY.contains(&format!("style-src 'sha256-{hash}'")),
            "the stylesheet changed: put 'sha256-{hash}' in the policy"
        );
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        let html = page(StatusCode::OK, "Confirm", &paragraph("x")).into_body();
        assert!(html.contains(&format!("<style>{STYLE}</style>")), "{html}");
    }

    #[test]
    fn what_a_page_says_is_escaped() {
        let body =
            paragraph("<script>alert(1)</script> & \"quotes\"").with_button("Pay <b>now</b>");
        let html = page(StatusCode::OK, "<i>Title</i>", &body).into_body();
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<i>"));
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;"),
            "{html}"
        );
        assert!(
            html.contains("<title>&#60;i&#62;Title&#60;/i&#62;</title>"),
            "{html}"
        );
        assert!(html.contains("<form method=\"post\"><button type=\"submit\">Pay &#60;b&#62;now&#60;/b&#62;</button></form>"), "{html}");
        assert!(
            !page(StatusCode::OK, "t", &paragraph("x"))
                .into_body()
                .contains("<form")
        );
    }
}
