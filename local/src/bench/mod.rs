//! `hashbuy-bench`: the figures that make hashbuy worth running in Rust, against
//! their budgets. `tools/bench.sh` builds the release binaries, measures their sizes,
//! starts the emulator and runs this; it exits non-zero when a budget is broken.

mod flash_sale;
mod functions;
mod purchases;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hashbuy::function::{Function, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::flash_sale::FlashSale;
use self::functions::Figures;
use self::purchases::{Bench, PerPurchase, Throughput};
use crate::metering::Counts;

/// What a release is held to.
pub mod budget {
    /// From spawn to the first `invocation/next`, on the 2-core CI machine.
    pub const INIT_MS: f64 = 7.0;
    pub const PEAK_RSS_MB: f64 = 20.0;
    /// Megabytes here are 10^6 bytes, as `tools/sizes.py` prints them.
    pub const ZIP_BYTES: u64 = 4_000_000;
    /// Ten until payments were recorded before being confirmed: that write is what keeps
    /// a purchase from being charged twice once the processor prunes its idempotency key.
    /// Twelve since delivery depends on the offer: fulfil-order reads the purchase (one
    /// read unit) to learn whether it hands over a code, waits for the merchant's
    /// shipment or ships at once, instead of shipping blind. Nineteen since the bench
    /// buys what a merchant sells (the local shop's parcel) and follows it until it
    /// ships: the shopper's part is still twelve; notify-merchant reads the order and its
    /// merchant (2), and the shop's shipment through the merchant API reads its key,
    /// itself and the order, records the shipment and claims the tracking email (5).
    pub const DYNAMODB_REQUESTS_PER_PURCHASE: u64 = 19;
    /// The brand's posts per completed purchase: the prompt only. X allows 300 in 3
    /// hours, so this is what one brand account can sell in 3 hours.
    pub const BRAND_POSTS_PER_PURCHASE: u64 = 1;
}

/// List prices used for the cost of 1,000 purchases: AWS, us-east-1, as published on the
/// services' pricing pages in November 2026 (DynamoDB on-demand since its 2024-11-01
/// reduction). In US dollars.
pub mod price {
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Per GB-second on arm64.
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const EVENTBRIDGE_EVENT: f64 = 1.00 / 1e6;
    pub const SES_EMAIL: f64 = 0.10 / 1e3;
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
}

/// Shoppers at once on the emulator at most: it serves one request at a time, so more
/// only measure its queue.
const EMULATOR_SHOPPERS: u64 = 8;

/// The memory every function is deployed with (`infra/template.yaml`), in GB.
const MEMORY_GB: f64 = 128.0 / 1024.0;

pub struct Options {
    pub aws_endpoint: String,
    /// Where the release binaries are; `None` skips the per-function figures.
    pub functions: Option<PathBuf>,
    /// Sizes measured by `tools/bench.sh`.
    pub sizes: Option<PathBuf>,
    /// Purchases run one by one for the counts.
    pub purchases: u64,
    /// Shoppers at once for throughput; 0 skips it.
    pub shoppers: u64,
    /// Counts per purchase recorded earlier: when given, the counts are held to them
    /// (none may rise) instead of to the DynamoDB budget.
    pub baseline: Option<PathBuf>,
    /// A flash sale in memory under X's limits: shoppers and units; `None` skips it.
    pub flash_sale: Option<(u64, u32)>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
pub struct Size {
    pub bytes: u64,
    pub zipped: u64,
}

/// Bootstrap sizes by architecture, then by function.
pub type Sizes = BTreeMap<String, BTreeMap<String, Size>>;

#[derive(Debug, Serialize)]
pub struct Report {
    pub counts_per_purchase: PerPurchase,
    pub cost_per_1000_purchases_usd: Option<f64>,
    pub functions: Vec<Figures>,
    pub sizes: Sizes,
    pub throughput: BTreeMap<&'static str, Throughput>,
    pub flash_sale: Option<FlashSale>,
    /// What the counts were held to besides the DynamoDB budget, if anything.
    pub baseline: Option<Counts>,
    pub broken_budgets: Vec<String>,
}

/// The AWS bill for 1,000 purchases: each function's invocations billed at its warm
/// latency on the emulator (per millisecond, at its memory size), plus the requests to
/// the table, the bus, SES and the HTTP API. `None` without per-function figures.
fn cost_per_1000(counts: &PerPurchase, functions: &[Figures]) -> Option<f64> {
    let mut per_purchase = 0.0;
    for (function, n) in &counts.by_function {
        let warm_ms = functions
            .iter()
            .find(|f| f.function == *function)?
            .warm_p50_ms;
        let invocations = n.invocations as f64;
        per_purchase += invocations
            * (price::LAMBDA_REQUEST
                + MEMORY_GB * warm_ms.ceil() / 1000.0 * price::LAMBDA_ARM_GB_SECOND);
        // The HTTP API bills each request to the functions behind it.
        if Function::from_name(function).map(Function::trigger) == Some(Trigger::Http) {
            per_purchase += invocations * price::HTTP_API_REQUEST;
        }
    }
    let n = &counts.total;
    per_purchase += n.write_units as f64 * price::DYNAMODB_WRITE_UNIT
        + n.read_units as f64 * price::DYNAMODB_READ_UNIT
        + n.eventbridge_entries as f64 * price::EVENTBRIDGE_EVENT
        + n.emails as f64 * price::SES_EMAIL;
    Some(per_purchase * 1000.0)
}

fn check(report: &Report) -> Vec<String> {
    let mut broken = Vec::new();
    for f in &report.functions {
        if f.init_ms > budget::INIT_MS {
            broken.push(format!(
                "{}: init {:.1} ms > {} ms",
                f.function,
                f.init_ms,
                budget::INIT_MS
            ));
        }
        if f.peak_rss_mb > budget::PEAK_RSS_MB {
            broken.push(format!(
                "{}: peak RSS {:.1} MB > {} MB",
                f.function,
                f.peak_rss_mb,
                budget::PEAK_RSS_MB
            ));
        }
    }
    for (arch, sizes) in &report.sizes {
        for (function, size) in sizes {
            if size.zipped > budget::ZIP_BYTES {
                broken.push(format!(
                    "{function} ({arch}): zip {} bytes > {}",
                    size.zipped,
                    budget::ZIP_BYTES
                ));
            }
        }
    }
    let counts = &report.counts_per_purchase.total;
    if counts.dynamodb_requests > budget::DYNAMODB_REQUESTS_PER_PURCHASE {
        broken.push(format!(
            "{} DynamoDB requests per purchase > {}",
            counts.dynamodb_requests,
            budget::DYNAMODB_REQUESTS_PER_PURCHASE
        ));
    }
    if counts.brand_posts > budget::BRAND_POSTS_PER_PURCHASE {
        broken.push(format!(
            "{} brand posts per purchase > {}",
            counts.brand_posts,
            budget::BRAND_POSTS_PER_PURCHASE
        ));
    }
    if let Some(sale) = &report.flash_sale {
        let held = [
            (sale.stock_conserved, "stock is not conserved"),
            (sale.charged_once, "not one charge per completed purchase"),
            (
                sale.windows_whole,
                "a shopper who answered in time could not buy",
            ),
            (sale.completed > 0, "nothing sold"),
        ];
        for (ok, what) in held {
            if !ok {
                broken.push(format!("flash sale: {what}"));
            }
        }
    }
    // Below the budget, the baseline keeps any count from creeping up unnoticed.
    if let Some(baseline) = &report.baseline {
        for ((name, now), (_, before)) in counts.named().into_iter().zip(baseline.named()) {
            if now > before {
                broken.push(format!("{name} per purchase rose from {before} to {now}"));
            }
        }
    }
    broken
}

async fn measure_functions(
    dir: &Path,
    endpoint: &str,
    x_api_base: &str,
) -> Result<Vec<Figures>, String> {
    let resources = crate::harness::emulator::create(endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let keys = json!({
        "consumer_key": "bench-consumer-key", "consumer_secret": "bench-consumer-secret",
        "access_token": "bench-access-token", "access_token_secret": "bench-access-token-secret",
        "bearer_token": "bench-bearer-token",
    });
    let x_secret_id = resources
        .secret("x", &keys)
        .await
        .map_err(|e| e.to_string())?;
    let card_key = json!({"secret_key": "sk_bench", "webhook_secret": functions::WEBHOOK_SECRET});
    let card_secret_id = (resources.secret("card", &card_key).await).map_err(|e| e.to_string())?;
    let codes_key = json!({"key": "b".repeat(64)});
    let codes_secret_id =
        (resources.secret("codes", &codes_key).await).map_err(|e| e.to_string())?;
    let env = functions::Environment {
        endpoint,
        resources: &resources,
        x_secret_id: &x_secret_id,
        card_secret_id: &card_secret_id,
        codes_secret_id: &codes_secret_id,
        x_api_base,
    };
    let mut figures = Vec::new();
    for function in Function::ALL {
        figures.push(functions::measure(&dir.join(function.name()), function, &env).await?);
    }
    Ok(figures)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub async fn run(options: &Options) -> Result<Report, String> {
    let sizes: Sizes = match &options.sizes {
        Some(path) => read_json(path)?,
        None => Sizes::new(),
    };
    let baseline: Option<Counts> = options.baseline.as_deref().map(read_json).transpose()?;
    // The emulator first, while it is fresh: it slows down as its state grows.
    let mut throughput = BTreeMap::new();
    let mut emulator = Bench::start(Some(&options.aws_endpoint)).await?;
    let counts = purchases::counts(&mut emulator, options.purchases).await?;
    if options.shoppers > 0 {
        let shoppers = options.shoppers.min(EMULATOR_SHOPPERS);
        throughput.insert(
            "on the emulator",
            purchases::throughput(&mut emulator, shoppers).await?,
        );
    }
    let mut memory = Bench::start(None).await?;
    if options.shoppers > 0 {
        throughput.insert(
            "in memory",
            purchases::throughput(&mut memory, options.shoppers).await?,
        );
    }
    let flash_sale = match options.flash_sale {
        Some((shoppers, units)) => Some(flash_sale::run(shoppers, units).await?),
        None => None,
    };
    let functions = match &options.functions {
        // The functions call the in-memory stack's X API, with its keys.
        Some(dir) => measure_functions(dir, &options.aws_endpoint, memory.base_url()).await?,
        None => Vec::new(),
    };
    let mut report = Report {
        cost_per_1000_purchases_usd: cost_per_1000(&counts, &functions),
        counts_per_purchase: counts,
        functions,
        sizes,
        throughput,
        flash_sale,
        baseline,
        broken_budgets: Vec::new(),
    };
    report.broken_budgets = check(&report);
    Ok(report)
}

/// The report as the README's tables show it.
pub fn print(report: &Report) {
    let counts = &report.counts_per_purchase;
    println!(
        "per completed purchase, counted by the meter on the emulator (DynamoDB budget {}):",
        budget::DYNAMODB_REQUESTS_PER_PURCHASE
    );
    println!(
        "function            DynamoDB req  RCU  WCU  EventBridge  emails  X API  posts  invocations"
    );
    let rows = counts.by_function.iter().map(|(f, c)| (*f, c));
    for (function, c) in rows.chain([("all", &counts.total)]) {
        println!(
            "{:<18} {:>13} {:>4} {:>4} {:>12} {:>7} {:>6} {:>6} {:>12}",
            function,
            c.dynamodb_requests,
            c.read_units,
            c.write_units,
            c.eventbridge_entries,
            c.emails,
            c.x_requests,
            c.brand_posts,
            c.invocations
        );
    }
    if let Some(cost) = report.cost_per_1000_purchases_usd {
        println!("  AWS cost of 1,000 purchases at list prices: ${cost:.4}");
    }
    if !report.functions.is_empty() {
        println!("\nfunction            init ms  first ms  warm p50 ms  peak RSS MB");
        for f in &report.functions {
            println!(
                "{:<18} {:>8.1} {:>9.1} {:>12.2} {:>12.1}",
                f.function, f.init_ms, f.first_invocation_ms, f.warm_p50_ms, f.peak_rss_mb
            );
        }
    }
    for (arch, sizes) in &report.sizes {
        println!("\nbootstrap sizes, {arch}:");
        for (function, size) in sizes {
            println!(
                "  {:<18} {:>6.2} MB, zipped {:>5.2} MB",
                function,
                size.bytes as f64 / 1e6,
                size.zipped as f64 / 1e6
            );
        }
    }
    for (mode, t) in &report.throughput {
        println!(
            "\nthroughput {mode}: {} purchases at once, {:.1} completed/s; tweet→reply p50 {:.1} ms p99 {:.1} ms; confirm→shipped p50 {:.1} ms p99 {:.1} ms",
            t.purchases,
            t.per_second,
            t.tweet_to_reply_ms.p50,
            t.tweet_to_reply_ms.p99,
            t.confirm_to_shipped_ms.p50,
            t.confirm_to_shipped_ms.p99
        );
    }
    if let Some(sale) = &report.flash_sale {
        println!(
            "\nflash sale under X's limits, {} shoppers for {} units over 3 hours: {} completed, {} brand posts; {} prompts, {} of them queued (wait p50 {} min, max {} min); {} purchases expired before X could carry their prompt; windows whole: {}, stock conserved: {}, charged once: {}",
            sale.shoppers,
            sale.units,
            sale.completed,
            sale.brand_posts,
            sale.prompts,
            sale.prompts_delayed,
            sale.prompt_wait_minutes.0,
            sale.prompt_wait_minutes.1,
            sale.expired_unprompted,
            sale.windows_whole,
            sale.stock_conserved,
            sale.charged_once
        );
    }
    if report.baseline.is_some() {
        println!("\ncounts held to the DynamoDB budget and to the baseline");
    }
    if report.broken_budgets.is_empty() {
        println!("all budgets hold");
    } else {
        println!("\nBROKEN BUDGETS:");
        for b in &report.broken_budgets {
            println!("  {b}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dynamodb_requests: u64, baseline: Option<u64>) -> Report {
        let counts = |dynamodb_requests| Counts {
            dynamodb_requests,
            ..Counts::default()
        };
        Report {
            counts_per_purchase: PerPurchase {
                total: counts(dynamodb_requests),
                by_function: BTreeMap::new(),
            },
            cost_per_1000_purchases_usd: None,
            functions: Vec::new(),
            sizes: Sizes::new(),
            throughput: BTreeMap::new(),
            flash_sale: None,
            baseline: baseline.map(counts),
            broken_budgets: Vec::new(),
        }
    }

    #[test]
    fn counts_are_held_to_the_budget_and_to_the_baseline() {
        let budget = budget::DYNAMODB_REQUESTS_PER_PURCHASE;
        assert!(check(&report(budget, None)).is_empty());
        assert!(check(&report(budget, Some(budget))).is_empty());
        assert_eq!(
            check(&report(budget + 1, Some(budget + 2))),
            [format!(
                "{} DynamoDB requests per purchase > {budget}",
                budget + 1
            )]
        );
        assert_eq!(
            check(&report(9, Some(8))),
            ["dynamodb_requests per purchase rose from 8 to 9"]
        );
    }
}
