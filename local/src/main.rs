//! `hashbuy-local`: run the whole of hashbuy on this machine.

use hashbuy::adapters::stripe::Dialect;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hashbuy::domain::{UserId, Windows};
use hashbuy::settings::{Brand, Secret, Settings};
use hashbuy::x::oauth1::Credentials;
use hashbuy_local::simulators::shopper::{Client, Format, Original, XUser};
use hashbuy_local::simulators::x_api::{PostLimits, XKeys};
use hashbuy_local::simulators::x_oauth::OAuthClient;
use hashbuy_local::{demo, stack};

#[derive(Parser)]
#[command(
    version,
    about = "hashbuy's local stack: every function in one process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a stack, play one purchase through it, and exit 0 only if it shipped, charged once.
    Demo(StackArgs),
    /// Serve the stack until stopped.
    Serve(StackArgs),
    /// As a linked shopper, post TEXT to a running stack's webhook (signed, as X would).
    Tweet {
        #[command(flatten)]
        x: XArgs,
        text: String,
    },
    /// As a linked shopper, retweet one of the brand's posts (POST_ID from /_local/tweets).
    Retweet {
        #[command(flatten)]
        x: XArgs,
        post_id: String,
    },
    /// Make the stream rules of a running stack's X API match its catalog (the stack also
    /// does this whenever a product is added); prints what was added and deleted.
    SyncRules {
        /// The running stack.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

/// Who posts, to which stack, in which delivery format.
#[derive(Args)]
struct XArgs {
    /// The shopper's screen name, as linked with POST /_local/accounts.
    #[arg(long = "as")]
    screen_name: String,
    /// The shopper's X user id, to post as someone who is not linked (or no longer).
    #[arg(long)]
    id: Option<String>,
    /// The running stack.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(
        long,
        env = "X_CONSUMER_SECRET",
        default_value = DEFAULT_CONSUMER_SECRET,
        hide_env_values = true
    )]
    x_consumer_secret: String,
    #[arg(long, value_enum, default_value_t = Format::Aaa)]
    format: Format,
}

#[derive(Args)]
struct StackArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The X API the stack's X adapters call; by default the stack's own, at /2/...
    #[arg(long)]
    x_api_base: Option<String>,
    /// The X app's consumer key.
    #[arg(long, env = "X_CONSUMER_KEY", default_value = "local-consumer-key")]
    x_consumer_key: String,
    /// The X app's consumer secret, which signs webhook deliveries and API requests.
    #[arg(
        long,
        env = "X_CONSUMER_SECRET",
        default_value = DEFAULT_CONSUMER_SECRET,
        hide_env_values = true
    )]
    x_consumer_secret: String,
    /// Charge through Stripe's API at this address (Stripe's test mode, or localstripe)
    /// instead of the in-memory processor.
    #[arg(long)]
    card_processor_base: Option<String>,
    /// The processor's secret key (test mode).
    #[arg(
        long,
        env = "CARD_PROCESSOR_KEY",
        default_value = "sk_test_local",
        hide_env_values = true
    )]
    card_processor_key: String,
    /// `stripe`, or `localstripe` (which refuses `off_session` on a confirm, and is told
    /// where to send its events: this stack's /payments/webhook).
    #[arg(long, default_value = "stripe")]
    card_processor_dialect: String,
    /// The secret the card processor signs /payments/webhook deliveries with.
    #[arg(
        long,
        env = "CARD_WEBHOOK_SECRET",
        default_value = DEFAULT_CARD_WEBHOOK_SECRET,
        hide_env_values = true
    )]
    card_webhook_secret: String,
    /// The X app's OAuth 2.0 client id, with which shoppers sign in on /account.
    #[arg(long, env = "X_OAUTH_CLIENT_ID", default_value = "local-oauth-client")]
    x_oauth_client_id: String,
    #[arg(
        long,
        env = "X_OAUTH_CLIENT_SECRET",
        default_value = DEFAULT_OAUTH_CLIENT_SECRET,
        hide_env_values = true
    )]
    x_oauth_client_secret: String,
    /// Where browsers sign in with X (`https://x.com` for the real one); by default this
    /// stack's own stand-in, at /i/oauth2/authorize.
    #[arg(long, env = "X_OAUTH_AUTHORIZE_BASE")]
    x_authorize_base: Option<String>,
    /// The brand account's access token.
    #[arg(long, env = "X_ACCESS_TOKEN", default_value = "local-access-token")]
    x_access_token: String,
    #[arg(
        long,
        env = "X_ACCESS_TOKEN_SECRET",
        default_value = DEFAULT_ACCESS_TOKEN_SECRET,
        hide_env_values = true
    )]
    x_access_token_secret: String,
    /// The X app's bearer token, for the stream rules.
    #[arg(
        long,
        env = "X_BEARER_TOKEN",
        default_value = DEFAULT_BEARER_TOKEN,
        hide_env_values = true
    )]
    x_bearer_token: String,
    /// The brand account's X user id.
    #[arg(long, default_value = "1000000000000000001")]
    brand_id: String,
    #[arg(long, default_value = "hashbuy")]
    brand_screen_name: String,
    /// Seconds a shopper has to retweet the brand's reply.
    #[arg(long, default_value_t = 900)]
    retweet_window_secs: u64,
    /// Seconds a shopper has to press Confirm after the email.
    #[arg(long, default_value_t = 900)]
    email_window_secs: u64,
    /// Run on the AWS adapters against this emulator (moto server), creating the table,
    /// sender, bus and rules there, instead of in memory.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// At most one refusal reply (not linked, unknown, sold out, already waiting) per
    /// author in each period of this many seconds; 0 answers every post.
    #[arg(long, default_value_t = 3600)]
    refusal_period_secs: u64,
    /// At most this share of the brand's posts (300 per 3 hours on X) goes to refusals, in
    /// percent; the rest is kept for the prompts that sell.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    refusal_share_percent: u8,
    /// Also reply "thank you" on X when an order ships (off: the receipt goes by email,
    /// and the prompt is the one brand post a purchase spends).
    #[arg(long)]
    thank_you_replies: bool,
    /// The local X API's write limits on the brand's posts, X's by default (posts and
    /// reposts together); it answers 429 with `x-rate-limit-*` headers beyond them.
    #[arg(long, default_value_t = 200)]
    x_posts_per_15_minutes: u32,
    #[arg(long, default_value_t = 300)]
    x_posts_per_3_hours: u32,
    /// Freeze the clock: it then moves only on POST /_local/clock. By default it follows
    /// real time, and the expiry step runs every minute as it is scheduled in AWS.
    #[arg(long)]
    frozen_clock: bool,
    /// Seconds between runs of the expiry step on a real-time clock.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    expiry_every_secs: u64,
    /// Allow an address other than loopback. The console lists live confirmation links
    /// and card tokens to anyone who asks, so this also requires your own X secrets.
    #[arg(long)]
    public: bool,
}

/// The built-in secrets: fine on loopback, refused on a network.
const DEFAULT_CONSUMER_SECRET: &str = "local-consumer-secret";
const DEFAULT_ACCESS_TOKEN_SECRET: &str = "local-access-token-secret";
const DEFAULT_BEARER_TOKEN: &str = "local-bearer-token";
const DEFAULT_OAUTH_CLIENT_SECRET: &str = "local-oauth-client-secret";
const DEFAULT_CARD_WEBHOOK_SECRET: &str = "whsec_local";

impl StackArgs {
    /// Refuses to serve beyond this machine unless asked to, and then only with secrets
    /// of the operator's own.
    fn check_exposure(&self) -> Result<(), String> {
        if self.addr.ip().is_loopback() {
            return Ok(());
        }
        if !self.public {
            return Err(format!(
                "refusing to listen on {}: the console (/_local) shows live confirmation \
                 links and card tokens to anyone; use a loopback address, or pass --public",
                self.addr
            ));
        }
        let defaults = [
            (
                &self.x_consumer_secret,
                DEFAULT_CONSUMER_SECRET,
                "--x-consumer-secret",
            ),
            (
                &self.x_access_token_secret,
                DEFAULT_ACCESS_TOKEN_SECRET,
                "--x-access-token-secret",
            ),
            (
                &self.x_bearer_token,
                DEFAULT_BEARER_TOKEN,
                "--x-bearer-token",
            ),
            (
                &self.x_oauth_client_secret,
                DEFAULT_OAUTH_CLIENT_SECRET,
                "--x-oauth-client-secret",
            ),
            (
                &self.card_webhook_secret,
                DEFAULT_CARD_WEBHOOK_SECRET,
                "--card-webhook-secret",
            ),
        ];
        match defaults
            .iter()
            .find(|(value, default, _)| value.as_str() == *default)
        {
            Some((_, _, flag)) => Err(format!(
                "refusing --public with the built-in {flag}: anyone could sign deliveries; give your own"
            )),
            None => Ok(()),
        }
    }

    /// The steps' settings from the flags: the same type, with the same defaults, that a
    /// Lambda reads from its environment (`hashbuy::startup::Config`).
    fn settings(&self, brand: UserId) -> Settings {
        let brand = Brand {
            user_id: brand,
            screen_name: self.brand_screen_name.clone(),
        };
        Settings {
            windows: Windows {
                retweet: Duration::from_secs(self.retweet_window_secs),
                email: Duration::from_secs(self.email_window_secs),
            },
            // Shorter than a deployment's: a stopped local step is taken over sooner.
            effect_lease: Duration::from_secs(30),
            refusal_period: Duration::from_secs(self.refusal_period_secs),
            thank_you_replies: self.thank_you_replies,
            refusal_share_percent: self.refusal_share_percent,
            // The base URL is the address the stack binds.
            ..Settings::new(brand, "")
        }
    }

    fn config(&self) -> Result<stack::Config, String> {
        self.check_exposure()?;
        let user_id = UserId::parse(&self.brand_id).map_err(|e| e.to_string())?;
        Ok(stack::Config {
            addr: self.addr,
            x_keys: XKeys {
                credentials: Credentials {
                    consumer_key: self.x_consumer_key.clone(),
                    consumer_secret: Secret::new(self.x_consumer_secret.clone()),
                    access_token: self.x_access_token.clone(),
                    access_token_secret: Secret::new(self.x_access_token_secret.clone()),
                },
                bearer_token: Secret::new(self.x_bearer_token.clone()),
            },
            x_api_base: self.x_api_base.clone(),
            x_oauth: OAuthClient {
                id: self.x_oauth_client_id.clone(),
                secret: Secret::new(self.x_oauth_client_secret.clone()),
            },
            x_authorize_base: self.x_authorize_base.clone(),
            card_webhook_secret: Secret::new(self.card_webhook_secret.clone()),
            card_processor: match &self.card_processor_base {
                None => None,
                Some(base_url) => Some(stack::CardProcessor {
                    base_url: base_url.clone(),
                    key: Secret::new(self.card_processor_key.clone()),
                    dialect: Dialect::parse(&self.card_processor_dialect).ok_or_else(|| {
                        "--card-processor-dialect: expected stripe or localstripe".to_owned()
                    })?,
                }),
            },
            settings: self.settings(user_id),
            aws_endpoint: self.aws_endpoint.clone(),
            x_post_limits: PostLimits(vec![
                (Duration::from_secs(15 * 60), self.x_posts_per_15_minutes),
                (Duration::from_secs(3 * 3600), self.x_posts_per_3_hours),
            ]),
            clock: if self.frozen_clock {
                stack::ClockMode::Frozen
            } else {
                stack::ClockMode::RealTime {
                    expiry_every: Duration::from_secs(self.expiry_every_secs),
                }
            },
        })
    }
}

/// Plays one post of a shopper against a running stack.
async fn simulate(x: &XArgs, retweet_of: Option<&str>, text: &str) -> Result<String, String> {
    let client = Client::new(&x.url, &x.x_consumer_secret);
    let fail = |e: reqwest::Error| format!("the stack at {} did not answer: {e}", x.url);
    let name = x.screen_name.trim_start_matches('@');
    let id = match &x.id {
        Some(id) => Some(id.clone()),
        None => {
            let accounts = client.get_json("/_local/accounts").await.map_err(fail)?;
            accounts
                .as_array()
                .and_then(|all| all.iter().find(|a| a["screen_name"] == name))
                .and_then(|a| a["x_user_id"].as_str())
                .map(str::to_owned)
        }
    };
    let shopper = id
        .map(|id| XUser {
            id,
            screen_name: name.to_owned(),
        })
        .ok_or_else(|| {
            format!("@{name} is not linked: POST /_local/accounts first, or give --id")
        })?;
    let delivered = match retweet_of {
        None => client
            .tweet_as(x.format, &shopper, text)
            .await
            .map_err(fail)?,
        Some(post_id) => {
            let brand = client.brand().await.map_err(fail)?;
            let tweets = client.get_json("/_local/tweets").await.map_err(fail)?;
            let original = tweets
                .as_array()
                .and_then(|all| all.iter().find(|t| t["id"] == post_id))
                .ok_or_else(|| format!("no brand post {post_id} in /_local/tweets"))?;
            let original = Original {
                id: post_id,
                author: &brand,
                text: original["text"].as_str().unwrap_or_default(),
                in_reply_to: original["in_reply_to_tweet_id"].as_str(),
            };
            client
                .retweet_as(x.format, &shopper, &original)
                .await
                .map_err(fail)?
        }
    };
    Ok(format!(
        "delivered post {} (webhook answered {})",
        delivered.id, delivered.status
    ))
}

async fn sync_rules(url: &str) -> Result<String, String> {
    let fail = |e: reqwest::Error| format!("the stack at {url} did not answer: {e}");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_local/stream-rules/sync",
            url.trim_end_matches('/')
        ))
        .send()
        .await
        .map_err(fail)?;
    let status = response.status();
    let body = response.text().await.map_err(fail)?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("sync failed ({status}): {body}"))
    }
}

fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("hashbuy-local: {message}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (args, is_demo) = match &cli.command {
        Command::Demo(args) => (args, true),
        Command::Serve(args) => (args, false),
        Command::Tweet { x, text } => return report(simulate(x, None, text).await),
        Command::Retweet { x, post_id } => return report(simulate(x, Some(post_id), "").await),
        Command::SyncRules { url } => return report(sync_rules(url).await),
    };
    // The demo tells its story on stdout; its logs stay quiet unless asked for.
    hashbuy::telemetry::init(if is_demo { "warn" } else { "info" });
    let config = match args.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hashbuy-local: {e}");
            return ExitCode::from(2);
        }
    };
    let running = match stack::start(config.clone()).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("hashbuy-local: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let adapters = config.describe();
    if is_demo {
        println!("{adapters}\n");
        let client = Client::new(&running.base_url, &args.x_consumer_secret);
        return match demo::run(&client).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hashbuy-local demo failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // The first line names the address (the end-to-end tests read it from there).
    println!(
        "hashbuy-local listening on {}\n{adapters}",
        running.base_url
    );
    match running.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hashbuy-local: server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<(), String> {
        let cli = Cli::try_parse_from(["hashbuy-local", "serve"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Serve(args) => args.check_exposure(),
            _ => Err("not serve".into()),
        }
    }

    #[test]
    fn serves_beyond_loopback_only_when_asked_and_never_with_the_built_in_secrets() {
        assert_eq!(serve(&["--addr", "127.0.0.1:0"]), Ok(()));
        assert_eq!(serve(&["--addr", "[::1]:8080"]), Ok(()));
        let refused = serve(&["--addr", "0.0.0.0:8080"]).expect_err("refused");
        assert!(refused.contains("--public"), "{refused}");
        let defaults = serve(&["--addr", "0.0.0.0:8080", "--public"]).expect_err("refused");
        assert!(defaults.contains("built-in"), "{defaults}");
        // With --public, each built-in secret is refused until all are the operator's.
        let public = ["--addr", "0.0.0.0:8080", "--public"];
        let own = [
            ["--x-consumer-secret", "a"],
            ["--x-access-token-secret", "b"],
            ["--x-bearer-token", "c"],
            ["--card-webhook-secret", "d"],
            ["--x-oauth-client-secret", "e"],
        ];
        for given in 0..own.len() {
            let args = [&public[..], &own[..given].concat()].concat();
            assert!(
                serve(&args).is_err(),
                "{given} of {} secrets given",
                own.len()
            );
        }
        assert_eq!(serve(&[&public[..], &own.concat()].concat()), Ok(()));
    }
}
