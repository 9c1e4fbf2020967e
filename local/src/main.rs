//! `hashbuy-local`: run the whole of hashbuy on this machine.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use hashbuy::domain::{UserId, Windows};
use hashbuy::settings::{Brand, Secret};
use hashbuy_local::client::Client;
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
}

#[derive(Args)]
struct StackArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The X app's consumer secret, which signs webhook deliveries.
    #[arg(
        long,
        env = "X_CONSUMER_SECRET",
        default_value = "local-consumer-secret",
        hide_env_values = true
    )]
    x_consumer_secret: String,
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
}

impl StackArgs {
    fn config(&self) -> Result<stack::Config, String> {
        let user_id = UserId::parse(&self.brand_id).map_err(|e| e.to_string())?;
        Ok(stack::Config {
            addr: self.addr,
            x_consumer_secret: Secret::new(self.x_consumer_secret.clone()),
            brand: Brand {
                user_id,
                screen_name: self.brand_screen_name.clone(),
            },
            windows: Windows {
                retweet: Duration::from_secs(self.retweet_window_secs),
                email: Duration::from_secs(self.email_window_secs),
            },
            aws_endpoint: self.aws_endpoint.clone(),
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (args, is_demo) = match &cli.command {
        Command::Demo(args) => (args, true),
        Command::Serve(args) => (args, false),
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
    let running = match stack::start(config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("hashbuy-local: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    if is_demo {
        let client = Client::new(&running.base_url, &args.x_consumer_secret);
        return match demo::run(&client).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hashbuy-local demo failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    println!("hashbuy-local listening on {}", running.base_url);
    match running.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hashbuy-local: server stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
