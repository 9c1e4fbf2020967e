//! `hashbuy-admin connect-x` against the local X API, which serves X's webhook routes,
//! sends the CRC check to the webhook being registered, and checks the stream link's
//! parameters.

use std::process::Output;

use hashbuy::domain::UserId;
use hashbuy::settings::{Brand, Secret};
use hashbuy::x::oauth1::Credentials;
use hashbuy_local::simulators::x_api::XKeys;
use hashbuy_local::stack::{self, Config, Running};

const BEARER: &str = "admin-test-bearer";

fn keys(consumer_secret: &str) -> XKeys {
    XKeys {
        credentials: Credentials {
            consumer_key: "ck".into(),
            consumer_secret: Secret::new(consumer_secret),
            access_token: "at".into(),
            access_token_secret: Secret::new("ats"),
        },
        bearer_token: Secret::new(BEARER),
    }
}

async fn stack_with(consumer_secret: &str) -> Running {
    let brand = Brand {
        user_id: UserId::parse("1000").expect("id"),
        screen_name: "hashbuy".into(),
    };
    let config = Config::local(keys(consumer_secret), brand);
    stack::start(config).await.expect("stack")
}

/// Runs the command as an operator would, with the keys in the environment.
async fn connect(x_api: &Running, webhook_url: &str, consumer_secret: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_hashbuy-admin"))
        .args(["connect-x", "--webhook-url", webhook_url, "--x-api-base"])
        .arg(&x_api.base_url)
        .env_clear()
        .env("X_CONSUMER_KEY", "ck")
        .env("X_CONSUMER_SECRET", consumer_secret)
        .env("X_ACCESS_TOKEN", "at")
        .env("X_ACCESS_TOKEN_SECRET", "ats")
        .env("X_BEARER_TOKEN", BEARER)
        .output()
        .await
        .expect("run hashbuy-admin")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn app_get(x_api: &Running, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}{path}", x_api.base_url))
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("x api")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn connects_once_and_a_second_run_changes_nothing() {
    let stack = stack_with("s3cret").await;
    let webhook = format!("{}/webhook", stack.base_url);

    let first = connect(&stack, &webhook, "s3cret").await;
    assert!(first.status.success(), "{}", said(&first));
    let text = said(&first);
    for step in [
        "registered (X's CRC check passed)",
        "linked to the webhook",
        "activity: subscribed",
    ] {
        assert!(text.contains(step), "{step:?} in {text}");
    }

    let again = connect(&stack, &webhook, "s3cret").await;
    assert!(again.status.success(), "{}", said(&again));
    let text = said(&again);
    for step in ["already registered", "already linked", "already subscribed"] {
        assert!(text.contains(step), "{step:?} in {text}");
    }

    let webhooks = app_get(&stack, "/2/webhooks").await;
    assert_eq!(webhooks["meta"]["result_count"], 1, "{webhooks}");
    let links = app_get(&stack, "/2/tweets/search/webhooks").await;
    let fields = &links["data"]["links"][0]["fields"];
    assert!(
        fields.to_string().contains("referenced_tweets.id"),
        "the link expands retweets' originals: {links}"
    );
}

#[tokio::test]
async fn a_webhook_that_fails_the_crc_check_is_not_registered() {
    let x = stack_with("the-apps-secret").await;
    // A deployment whose X secret holds another consumer secret answers the CRC wrongly.
    let misconfigured = stack_with("another-secret").await;
    let webhook = format!("{}/webhook", misconfigured.base_url);
    let refused = connect(&x, &webhook, "the-apps-secret").await;
    assert!(!refused.status.success());
    assert!(
        said(&refused).contains("CrcValidationFailed"),
        "{}",
        said(&refused)
    );
    let webhooks = app_get(&x, "/2/webhooks").await;
    assert_eq!(webhooks["meta"]["result_count"], 0, "{webhooks}");
}

#[tokio::test]
async fn the_local_x_api_refuses_a_stream_link_without_the_expansions() {
    let stack = stack_with("s3cret").await;
    let webhook = format!("{}/webhook", stack.base_url);
    assert!(connect(&stack, &webhook, "s3cret").await.status.success());
    let id = app_get(&stack, "/2/webhooks").await["data"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let http = reqwest::Client::new();
    let link = format!("{}/2/tweets/search/webhooks/{id}", stack.base_url);
    let unlinked = http
        .delete(&link)
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("delete");
    assert!(unlinked.status().is_success());
    let bare = http
        .post(format!("{link}?expansions=author_id"))
        .bearer_auth(BEARER)
        .send()
        .await
        .expect("link");
    assert_eq!(bare.status(), 400);
    let detail = bare.text().await.expect("body");
    assert!(
        detail.contains("expansions=referenced_tweets.id"),
        "{detail}"
    );
    // connect-x puts it right.
    let repaired = connect(&stack, &webhook, "s3cret").await;
    assert!(
        said(&repaired).contains("filtered stream: linked"),
        "{}",
        said(&repaired)
    );
}
