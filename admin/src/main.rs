//! `hashbuy-admin`: the operator's commands for a deployment.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hashbuy::settings::Secret;
use hashbuy::x::oauth1::Credentials;
use hashbuy_admin::connect_x::XAdmin;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::ConnectX {
        webhook_url,
        x_api_base,
        x_consumer_key,
        x_consumer_secret,
        x_access_token,
        x_access_token_secret,
        x_bearer_token,
    } = Cli::parse().command;
    let http = match hashbuy::adapters::https::client() {
        Ok(http) => http,
        Err(e) => {
            eprintln!("hashbuy-admin: no HTTPS client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let credentials = Credentials {
        consumer_key: x_consumer_key,
        consumer_secret: Secret::new(x_consumer_secret),
        access_token: x_access_token,
        access_token_secret: Secret::new(x_access_token_secret),
    };
    let admin = XAdmin::new(http, &x_api_base, credentials, Secret::new(x_bearer_token));
    match admin.connect(&webhook_url).await {
        Ok(report) => {
            for line in report.lines(&webhook_url) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hashbuy-admin connect-x: {e}");
            ExitCode::FAILURE
        }
    }
}
