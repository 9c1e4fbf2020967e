//! `hashbuy-admin`: the operator's commands for a deployment.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hashbuy::adapters::aws;
use hashbuy::adapters::dynamodb::DynamoStore;
use hashbuy::adapters::eventbridge::EventBridgeBus;
use hashbuy::adapters::sqs::SqsPostQueue;
use hashbuy::adapters::stripe::{Dialect, StripeApi};
use hashbuy::domain::{Clock, Commission, Purchase, SystemClock};
use hashbuy::settings::Secret;
use hashbuy::steps::{merchant_api, reconcile};
use hashbuy::x::oauth1::Credentials;
use hashbuy_admin::connect_x::XAdmin;
use hashbuy_admin::operations::{self, DeadLetter, Letter};

#[derive(Parser)]
#[command(version, about = "hashbuy's operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect a deployment to X: register its webhook, link the filtered stream to it
    /// and subscribe the brand account's activity. Safe to run again: it does only what
    /// is missing. The keys are those of the deployment's X secret (hashbuy/x).
    ConnectX {
        /// The deployment's webhook (the stack's WebhookUrl output).
        #[arg(long)]
        webhook_url: String,
        #[arg(long, default_value = "https://api.x.com")]
        x_api_base: String,
        #[arg(long, env = "X_CONSUMER_KEY")]
        x_consumer_key: String,
        #[arg(long, env = "X_CONSUMER_SECRET", hide_env_values = true)]
        x_consumer_secret: String,
        #[arg(long, env = "X_ACCESS_TOKEN")]
        x_access_token: String,
        #[arg(long, env = "X_ACCESS_TOKEN_SECRET", hide_env_values = true)]
        x_access_token_secret: String,
        #[arg(long, env = "X_BEARER_TOKEN", hide_env_values = true)]
        x_bearer_token: String,
    },
    /// Add a merchant and print its id and first API key: the key is shown here only
    /// (stored hashed); the merchant adds and revokes further keys through the API.
    AddMerchant {
        /// The deployment's table (the stack's TableName output).
        #[arg(long)]
        table: String,
        /// As shoppers see it on the offers page.
        #[arg(long)]
        name: String,
        /// The platform's cut of each sale, in basis points (1000 = 10%).
        #[arg(long)]
        commission_bps: u32,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Sum the ledger against the card processor's payments and refunds and list every
    /// difference (expected: none; exits non-zero if there is one). Reads only.
    Reconcile {
        /// The deployment's table (the stack's TableName output).
        #[arg(long)]
        table: String,
        #[arg(long, default_value = "https://api.stripe.com")]
        card_processor_base_url: String,
        /// The processor's secret key (the card secret's `secret_key`).
        #[arg(long, env = "CARD_SECRET_KEY", hide_env_values = true)]
        card_secret_key: String,
        /// `stripe`, or `localstripe` for the emulator.
        #[arg(long, default_value = "stripe")]
        card_processor_dialect: String,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// List purchases still due minutes after their deadline: the expiry step runs every
    /// minute, so these are stuck (look at their logs by purchase id).
    Stuck {
        /// The deployment's table (the stack's TableName output).
        #[arg(long)]
        table: String,
        /// Seconds past the deadline before a purchase counts as stuck.
        #[arg(long, default_value_t = 300)]
        grace_secs: u64,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// List the dead-letter queue's messages, each with the purchase it is about.
    DeadLetters {
        /// The stack's DeadLetterQueueUrl output.
        #[arg(long)]
        queue_url: String,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Send one dead letter back (an event to the bus, a post to the post queue) once its
    /// cause is fixed, and remove it from the queue. Every step is idempotent, so a
    /// redriven event finishes what was left half done.
    Redrive {
        #[arg(long)]
        queue_url: String,
        /// As `dead-letters` lists it.
        #[arg(long)]
        message_id: String,
        /// The stack's EventBusName output.
        #[arg(long)]
        event_bus: String,
        /// The stack's post queue (PostQueue's URL).
        #[arg(long)]
        post_queue_url: String,
        #[command(flatten)]
        aws: AwsArgs,
    },
}

/// Where the deployment is: AWS, from the usual environment and profile, or an emulator.
#[derive(clap::Args)]
struct AwsArgs {
    /// An emulator's address instead of AWS.
    #[arg(long)]
    aws_endpoint: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let http = match hashbuy::adapters::https::client() {
        Ok(http) => http,
        Err(e) => {
            eprintln!("hashbuy-admin: no HTTPS client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = match Cli::parse().command {
        Command::ConnectX {
            webhook_url,
            x_api_base,
            x_consumer_key,
            x_consumer_secret,
            x_access_token,
            x_access_token_secret,
            x_bearer_token,
        } => {
            let credentials = Credentials {
                consumer_key: x_consumer_key,
                consumer_secret: Secret::new(x_consumer_secret),
                access_token: x_access_token,
                access_token_secret: Secret::new(x_access_token_secret),
            };
            let admin = XAdmin::new(http, &x_api_base, credentials, Secret::new(x_bearer_token));
            admin
                .connect(&webhook_url)
                .await
                .map(|report| report.lines(&webhook_url))
                .map_err(|e| format!("connect-x: {e}"))
        }
        Command::AddMerchant {
            table,
            name,
            commission_bps,
            aws,
        } => {
            let sdk = aws::load(aws.aws_endpoint.as_deref(), &http).await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            add_merchant(&store, &name, commission_bps)
                .await
                .map_err(|e| format!("add-merchant: {e}"))
        }
        Command::Reconcile {
            table,
            card_processor_base_url,
            card_secret_key,
            card_processor_dialect,
            aws,
        } => {
            let sdk = aws::load(aws.aws_endpoint.as_deref(), &http).await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            match Dialect::parse(&card_processor_dialect) {
                None => Err("reconcile: the dialect is stripe or localstripe".into()),
                Some(dialect) => {
                    let key = Secret::new(card_secret_key);
                    let processor = StripeApi::new(http, &card_processor_base_url, key, dialect);
                    reconcile::reconcile(&processor, &store, &store)
                        .await
                        .map_err(|e| format!("reconcile: {e}"))
                        .and_then(describe_reconciliation)
                }
            }
        }
        Command::Stuck {
            table,
            grace_secs,
            aws,
        } => {
            let sdk = aws::load(aws.aws_endpoint.as_deref(), &http).await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
            operations::stuck(&store, SystemClock.now(), grace_secs, 100)
                .await
                .map(|stuck| stuck.iter().map(describe_purchase).collect())
                .map_err(|e| format!("stuck: {e}"))
        }
        Command::DeadLetters { queue_url, aws } => {
            let sdk = aws::load(aws.aws_endpoint.as_deref(), &http).await;
            operations::dead_letters(&aws_sdk_sqs::Client::new(&sdk), &queue_url)
                .await
                .map(|letters| letters.iter().map(describe_letter).collect())
                .map_err(|e| format!("dead-letters: {e}"))
        }
        Command::Redrive {
            queue_url,
            message_id,
            event_bus,
            post_queue_url,
            aws,
        } => {
            let sdk = aws::load(aws.aws_endpoint.as_deref(), &http).await;
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), event_bus);
            let posts = SqsPostQueue::new(sqs.clone(), post_queue_url);
            let targets = operations::Targets {
                bus: &bus,
                posts: &posts,
            };
            operations::redrive(&sqs, &queue_url, &message_id, targets, SystemClock.now())
                .await
                .map(|letter| vec![format!("redriven: {letter:?}")])
                .map_err(|e| format!("redrive: {e}"))
        }
    };
    match done {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hashbuy-admin {e}");
            ExitCode::FAILURE
        }
    }
}

async fn add_merchant(
    store: &DynamoStore,
    name: &str,
    commission_bps: u32,
) -> Result<Vec<String>, String> {
    let commission = Commission::basis_points(commission_bps).map_err(|e| e.to_string())?;
    let (merchant, key) = merchant_api::onboard(store, name, commission, SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(vec![
        format!("merchant_id\t{}", merchant.id),
        format!("key_id\t{}", key.id()),
        format!("api_key\t{}", key.expose()),
    ])
}

fn describe_purchase(p: &Purchase) -> String {
    let deadline = p.deadline.map_or(0, |d| d.0);
    format!("{}\t{}\tdeadline {deadline}", p.id, p.state)
}

fn describe_letter(d: &DeadLetter) -> String {
    let kind = match &d.letter {
        Letter::Event(event) => event.name().to_owned(),
        Letter::Post(post) => format!("post {}", post.key),
        Letter::Unreadable(body) => format!("unreadable: {body}"),
    };
    let purchase = d.purchase_id().unwrap_or_else(|| "-".into());
    format!("{}\t{kind}\t{purchase}", d.message_id)
}

/// The reconciliation's figures, then each difference; any difference is a failure.
fn describe_reconciliation(r: reconcile::Reconciliation) -> Result<Vec<String>, String> {
    let summary = format!(
        "processor: {} payments, {} refunds; ledger: {} sale and refund entries",
        r.payments, r.refunds, r.entries
    );
    match r.differences.is_empty() {
        true => Ok(vec![summary, "the ledger reconciles: no difference".into()]),
        false => Err(format!("{summary}\n{}", r.differences.join("\n"))),
    }
}
