//! `hashbuy-bench`: the figures that make hashbuy worth running in Rust, against their
//! budgets (see `hashbuy_local::bench` and tools/bench.sh).

use std::process::ExitCode;

use clap::Parser;
use hashbuy_local::bench;

/// Measures purchases, functions and sizes against their budgets (tools/bench.sh builds
/// and sizes the binaries first); exits 1 when a budget is broken, 2 when it could not
/// measure.
#[derive(Parser)]
#[command(version, about)]
struct BenchArgs {
    /// The emulator (moto server) the AWS adapters and the functions run against.
    #[arg(long)]
    aws_endpoint: String,
    /// Directory of the functions' release binaries; without it, no per-function figures.
    #[arg(long)]
    functions: Option<std::path::PathBuf>,
    /// Bootstrap sizes measured by tools/bench.sh (JSON).
    #[arg(long)]
    sizes: Option<std::path::PathBuf>,
    /// Purchases run one by one to count requests.
    #[arg(long, default_value_t = 5)]
    purchases: u64,
    /// Shoppers buying at once to measure throughput (at most 8 on the emulator); 0 skips it.
    #[arg(long, default_value_t = 200)]
    shoppers: u64,
    /// Shoppers in a flash sale under X's write limits (in memory, three hours on the
    /// stack's clock); 0 skips it.
    #[arg(long, default_value_t = 0)]
    flash_sale_shoppers: u64,
    /// Units on sale in the flash sale.
    #[arg(long, default_value_t = 300)]
    flash_sale_units: u32,
    /// Counts per purchase to hold this run to (none may rise), instead of the DynamoDB
    /// budget: how CI keeps today's figures from getting worse.
    #[arg(long)]
    baseline: Option<std::path::PathBuf>,
    /// Also write the report here, as JSON.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

async fn bench(args: &BenchArgs) -> ExitCode {
    let options = bench::Options {
        aws_endpoint: args.aws_endpoint.clone(),
        functions: args.functions.clone(),
        sizes: args.sizes.clone(),
        purchases: args.purchases.max(1),
        shoppers: args.shoppers,
        baseline: args.baseline.clone(),
        flash_sale: (args.flash_sale_shoppers > 0)
            .then_some((args.flash_sale_shoppers, args.flash_sale_units)),
    };
    let report = match bench::run(&options).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("hashbuy-bench: {e}");
            return ExitCode::from(2);
        }
    };
    bench::print(&report);
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("hashbuy-bench: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.broken_budgets.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // Its shoppers retweet the moment a prompt appears, so retried steps (logged as
    // errors) are expected; RUST_LOG shows them.
    hashbuy::telemetry::init("off");
    bench(&BenchArgs::parse()).await
}
