//! The account pages as values: a title, a notice, paragraphs, sections with forms and
//! links, and the card form when a card is being saved. Rendered by the askama template
//! `shared/templates/account.html`, which escapes every value.

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Response, StatusCode, header};
use rand::RngCore;

use super::words::Words;
use crate::steps::pages::{CONTENT_SECURITY_POLICY, hardened};

#[derive(Default)]
pub(super) struct View {
    pub lang: &'static str,
    pub title: String,
    pub notice: Option<String>,
    /// Paragraphs under the title; links at the foot of the page.
    pub texts: Texts,
    pub sections: Vec<Section>,
    pub card: Option<CardForm>,
}

pub(super) struct Section {
    pub id: &'static str,
    pub heading: String,
    pub texts: Texts,
    pub forms: Vec<Form>,
}

/// Paragraphs and links: what a page and each of its sections say.
#[derive(Default)]
pub(super) struct Texts {
    pub paragraphs: Vec<String>,
    pub links: Vec<Link>,
}

/// Adds paragraphs and links to a page or a section, builder style.
pub(super) trait Writes: Sized {
    fn texts(&mut self) -> &mut Texts;

    fn paragraph(mut self, text: impl Into<String>) -> Self {
        self.texts().paragraphs.push(text.into());
        self
    }

    fn link(mut self, href: impl Into<String>, text: impl Into<String>) -> Self {
        let link = Link {
            href: href.into(),
            text: text.into(),
        };
        self.texts().links.push(link);
        self
    }
}

impl Writes for View {
    fn texts(&mut self) -> &mut Texts {
        &mut self.texts
    }
}

impl Writes for Section {
    fn texts(&mut self) -> &mut Texts {
        &mut self.texts
    }
}

pub(super) struct Form {
    pub action: &'static str,
    pub csrf: String,
    pub fields: Vec<Field>,
    pub button: String,
}

pub(super) struct Field {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub required: bool,
    /// A `<select>`'s options (value, label, selected); a text input when empty.
    pub options: Vec<(&'static str, &'static str, bool)>,
}

pub(super) struct Link {
    pub href: String,
    pub text: String,
}

/// The card form: Stripe.js confirms the setup with the card typed into its element,
/// then the form posts the setup's id back.
pub(super) struct CardForm {
    pub js_url: String,
    pub js_origin: String,
    pub publishable_key: String,
    /// Opens only this setup; shown in this page only, never logged.
    pub client_secret: String,
    pub setup: String,
    pub csrf: String,
    pub button: String,
    pub nonce: String,
}

impl View {
    pub fn new(words: &Words, title: &str) -> Self {
        Self {
            lang: words.lang,
            title: title.to_owned(),
            ..Self::default()
        }
    }

    pub fn notice(mut self, text: impl Into<String>) -> Self {
        self.notice = Some(text.into());
        self
    }

    pub fn section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }
}

impl Section {
    pub fn new(id: &'static str, heading: &str) -> Self {
        Self {
            id,
            heading: heading.to_owned(),
            texts: Texts::default(),
            forms: Vec::new(),
        }
    }

    pub fn form(mut self, form: Form) -> Self {
        self.forms.push(form);
        self
    }
}

impl Form {
    /// A form of one button.
    pub fn button(action: &'static str, csrf: &str, label: &str) -> Self {
        Self {
            action,
            csrf: csrf.to_owned(),
            fields: Vec::new(),
            button: label.to_owned(),
        }
    }

    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }
}

impl Field {
    pub fn text(name: &'static str, label: &str, value: &str, autocomplete: &'static str) -> Self {
        Self {
            name,
            label: label.to_owned(),
            kind: "text",
            value: value.to_owned(),
            autocomplete,
            required: true,
            options: Vec::new(),
        }
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn options(mut self, options: Vec<(&'static str, &'static str, bool)>) -> Self {
        self.options = options;
        self
    }
}

/// A nonce for this response's scripts.
pub(super) fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Template)]
#[template(path = "account.html")]
struct Page<'a> {
    view: &'a View,
}

/// The page, with the hardening headers; a card page lets in Stripe.js and its one
/// inline script by nonce.
pub(super) fn render(status: StatusCode, view: &View) -> Response<String> {
    let html = Page { view }.render().unwrap_or_else(|error| {
        tracing::error!(error = %error, "account page did not render");
        String::from("<!doctype html><title>hashbuy</title><p>Please try again.</p>")
    });
    let mut response = hardened(status, html, "no-store");
    if let Some(card) = &view.card {
        let origin = &card.js_origin;
        let policy = format!(
            "{CONTENT_SECURITY_POLICY}; script-src 'nonce-{}' {origin}; \
             frame-src {origin} https://js.stripe.com https://hooks.stripe.com; \
             connect-src {origin} https://api.stripe.com",
            card.nonce
        );
        if let Ok(policy) = header::HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}
