//! Makes the filtered stream's rules match the catalog, so that X delivers every post
//! with the hashtag of an offer that has not ended, and nothing else (a post before an
//! offer starts, or while it is paused, is answered with when it can be bought). Run on a
//! schedule and after catalog changes; running it twice changes nothing the second time.

use super::StepError;
use crate::app::App;
use crate::domain::Sale;
use crate::ports::Plan;
use crate::x::rules;

/// Reads the catalog and the rules, and adds and deletes what differs; returns what it did.
pub async fn handle(app: &App) -> Result<Plan, StepError> {
    let span = tracing::info_span!("sync_stream_rules");
    super::traced(span, async {
        let now = app.ports.clock.now();
        let products = app.ports.catalog.products().await?;
        let hashtags: Vec<_> = products
            .into_iter()
            .filter(|p| p.sale(now) != Sale::Ended)
            .map(|p| p.hashtag)
            .collect();
        let existing = app.ports.stream_rules.list().await?;
        let plan = rules::plan(&hashtags, &app.settings.brand.user_id, &existing);
        if !plan.is_empty() {
            app.ports.stream_rules.apply(&plan).await?;
        }
        tracing::info!(
            products = hashtags.len(),
            added = plan.add.len(),
            deleted = plan.delete.len(),
            "stream rules match the catalog"
        );
        Ok(plan)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{StreamRule, StreamRules};
    use crate::steps::testing::{World, tag};
    use crate::x::rules::for_product;

    #[tokio::test]
    async fn follows_the_catalog_and_then_rests() {
        let world = World::new();
        world.product("BuyMug", 3).await;
        world.product("BuyCap", 3).await;
        let brand = &world.app.settings.brand.user_id;
        let stale = Plan {
            add: vec![for_product(&tag("BuyOld"), brand)],
            delete: vec![],
        };
        world.mem.x.apply(&stale).await.expect("seed a stale rule");

        let first = handle(&world.app).await.expect("sync");
        assert_eq!(first.add.len(), 2);
        assert_eq!(first.delete.len(), 1);
        let rules: Vec<StreamRule> = world.mem.x.list().await.expect("rules");
        let mut tags: Vec<_> = rules.iter().filter_map(|r| r.tag.clone()).collect();
        tags.sort();
        assert_eq!(tags, ["hashbuy:buycap", "hashbuy:buymug"]);

        let second = handle(&world.app).await.expect("sync again");
        assert!(second.is_empty(), "{second:?}");
        assert_eq!(world.mem.x.list().await.expect("rules"), rules);
    }

    #[tokio::test]
    async fn an_ended_offer_leaves_the_stream() {
        use crate::domain::Timestamp;
        use crate::ports::Catalog;
        let world = World::new();
        world.product("BuyMug", 3).await;
        world.product("BuyCap", 3).await;
        handle(&world.app).await.expect("sync");
        let mut cap = world
            .mem
            .store
            .product(&tag("BuyCap"))
            .await
            .expect("read")
            .expect("cap");
        cap.terms.ends_at = Some(Timestamp(world.app.ports.clock.now().seconds() + 60));
        world.mem.store.put_product(&cap).await.expect("put");
        assert!(
            handle(&world.app).await.expect("sync").is_empty(),
            "still on sale"
        );
        world.advance(60);
        let plan = handle(&world.app).await.expect("sync");
        assert_eq!((plan.add.len(), plan.delete.len()), (0, 1));
        let tags: Vec<_> = world
            .mem
            .x
            .list()
            .await
            .expect("rules")
            .into_iter()
            .filter_map(|r| r.tag)
            .collect();
        assert_eq!(tags, ["hashbuy:buymug"]);
    }
}
