//! The account pages over HTTP, as a browser without JavaScript would use them (the
//! story with the card form is `tests/browser`): sign-in with X against the stack's
//! OAuth 2.0 stand-in, which checks what X checks, and on the emulator every AWS action
//! the account pages take is one their policy allows.

use std::collections::HashMap;

use hashbuy::adapters::x_sign_in::{SignInError, XSignIn};
use hashbuy::settings::Secret;
use hashbuy::x::oauth2;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::support::{Mode, Stack};

const CLIENT_ID: &str = "local-oauth-client";
const CLIENT_SECRET: &str = "local-oauth-client-secret";

/// A code from the stand-in's authorize page, for `verifier`, to come back to `redirect`.
async fn code(stack: &Stack, verifier: &str, redirect: &str) -> String {
    let base = stack.client.base_url();
    let form = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect),
        ("scope", oauth2::SCOPE),
        ("state", "st"),
        ("code_challenge", &oauth2::challenge(verifier)),
        ("code_challenge_method", "S256"),
        ("username", "ada"),
        ("user_id", "4242"),
        ("decision", "allow"),
    ];
    let answer = no_redirects()
        .post(format!("{base}/i/oauth2/authorize"))
        .form(&form)
        .send()
        .await
        .expect("authorize");
    let location = answer.headers()[LOCATION].to_str().expect("location");
    let query = location.split_once('?').expect("a query").1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn client(stack: &Stack, secret: &str) -> XSignIn {
    let base = stack.client.base_url();
    XSignIn::new(
        reqwest::Client::new(),
        base,
        base,
        CLIENT_ID,
        Secret::new(secret),
    )
}

#[tokio::test]
async fn sign_in_with_x_checks_the_client_the_redirect_the_verifier_and_the_code() {
    let stack = Stack::spawn(Mode::Memory).await;
    let x = client(&stack, CLIENT_SECRET);
    let back = "http://127.0.0.1/account/callback";
    let verifier = oauth2::verifier();

    let good = code(&stack, &verifier, back).await;
    let user = x.user(&good, &verifier, back).await.expect("signed in");
    assert_eq!((user.id.as_str(), user.username.as_str()), ("4242", "ada"));
    assert_eq!(
        x.user(&good, &verifier, back).await,
        Err(SignInError::Refused(400)),
        "a code is used once"
    );

    let other = oauth2::verifier();
    let wrong_verifier = code(&stack, &verifier, back).await;
    assert_eq!(
        x.user(&wrong_verifier, &other, back).await,
        Err(SignInError::Refused(400))
    );
    let wrong_redirect = code(&stack, &verifier, back).await;
    let elsewhere = "http://evil.example/account/callback";
    assert_eq!(
        x.user(&wrong_redirect, &verifier, elsewhere).await,
        Err(SignInError::Refused(400))
    );
    let wrong_client = code(&stack, &verifier, back).await;
    assert_eq!(
        client(&stack, "not-the-secret")
            .user(&wrong_client, &verifier, back)
            .await,
        Err(SignInError::Refused(401))
    );
    let late = code(&stack, &verifier, back).await;
    stack.advance_clock(31).await;
    assert_eq!(
        x.user(&late, &verifier, back).await,
        Err(SignInError::Refused(400)),
        "a code waits 30 seconds"
    );
}

/// A browser's cookie jar for the stack, and the last page's form token.
struct Browser<'a> {
    stack: &'a Stack,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(stack: &'a Stack) -> Self {
        Self {
            stack,
            http: no_redirects(),
            cookies: HashMap::new(),
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.stack.client.base_url())
        }
    }

    /// Sends the request with the jar's cookies, keeps the ones set; status, location, body.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, String, String) {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request
            .header(COOKIE, jar.join("; "))
            .send()
            .await
            .expect("answer");
        for set in response.headers().get_all(SET_COOKIE) {
            let set = set.to_str().expect("cookie");
            let (name, value) = set
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .expect("pair");
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, response.text().await.expect("body"))
    }

    async fn get(&mut self, path: &str) -> (u16, String, String) {
        let request = self.http.get(self.url(path));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let request = self.http.post(self.url(path)).form(form);
        self.send(request).await
    }

    /// Signs in on the stand-in as `username` (`id`), following the redirects.
    async fn sign_in(&mut self, username: &str, id: &str) {
        let (status, authorize, _) = self.get("/account/signin").await;
        assert_eq!(status, 303);
        let query = authorize.split_once('?').expect("query").1;
        let mut form: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        form.extend([
            ("username".into(), username.into()),
            ("user_id".into(), id.into()),
            ("decision".into(), "allow".into()),
        ]);
        let answer = self
            .http
            .post(self.url("/i/oauth2/authorize"))
            .form(&form)
            .send()
            .await
            .expect("authorize");
        let back = answer.headers()[LOCATION]
            .to_str()
            .expect("location")
            .to_owned();
        let (status, location, _) = self.get(&back).await;
        assert_eq!((status, location.as_str()), (303, "/account"));
    }
}

fn csrf(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page[start..].split('"').next().expect("token").to_owned()
}

#[tokio::test]
async fn on_emulator_the_account_pages_may_do_what_their_code_does() {
    let stack = Stack::spawn(Mode::Emulator).await;
    let mut browser = Browser::new(&stack);
    browser.sign_in("ada", "4343").await;
    let (status, _, page) = browser.get("/account").await;
    assert_eq!(status, 200);
    assert!(page.contains("Signed in as @ada"), "{page}");
    let token = csrf(&page);

    let (status, _, page) = browser
        .post(
            "/account/email",
            &[("csrf", &token), ("email", "ada@example.com")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    stack.settle().await;
    let emails = stack.json("/_local/emails").await;
    let body = emails[0]["text"]
        .as_str()
        .or(emails[0]["html"].as_str())
        .unwrap_or_default();
    let link = body
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .find(|w| w.contains("/account/verify/"))
        .expect("a verification link");
    let (status, _, page) = browser.post(link, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your email address is verified."), "{page}");

    // What a signed-in stranger can make hashbuy send is bounded: three emails a day to
    // one address (from every account), five an hour from one account.
    let mut statuses = Vec::new();
    for to in [
        "ada@example.com",
        "ada@example.com",
        "ada@example.com",
        "b@example.com",
        "c@example.com",
    ] {
        let (status, _, _) = browser
            .post("/account/email", &[("csrf", &token), ("email", to)])
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 429, 200, 429], "then nothing is sent");
    stack.settle().await;
    let sent = stack.json("/_local/emails").await;
    assert_eq!(sent.as_array().map(Vec::len), Some(4), "{sent}");

    let address = [
        ("csrf", token.as_str()),
        ("name", "Ada Lovelace"),
        ("line1", "12 St James's Square"),
        ("line2", ""),
        ("city", "London"),
        ("postal_code", "SW1Y 4JH"),
        ("country", "gb"),
    ];
    let (status, _, page) = browser.post("/account/address", &address).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("value=\"GB\""), "{page}");
    let (status, _, page) = browser
        .post("/account/language", &[("csrf", &token), ("language", "fr")])
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Votre compte hashbuy"), "{page}");
    let (status, _, _) = browser.post("/account/unlink", &[("csrf", &token)]).await;
    assert_eq!(status, 200);
    let (status, _, page) = browser.post("/account/delete", &[("csrf", &token)]).await;
    assert_eq!(status, 200);
    assert!(page.contains("Vos données sont supprimées"), "{page}");
    let (_, _, page) = browser.get("/account").await;
    assert!(page.contains("Sign in with X"), "signed out: {page}");

    let needed = stack.json("/_local/metrics").await["actions"]["account-pages"].clone();
    let needed: Vec<String> = serde_json::from_value(needed).expect("the account pages' actions");
    assert!(!needed.is_empty(), "the pages read and wrote the table");
    let allowed = &crate::policies()["account-pages"];
    for action in &needed {
        assert!(
            allowed.contains(action),
            "account-pages needs {action}, which its policy does not allow"
        );
    }
}
