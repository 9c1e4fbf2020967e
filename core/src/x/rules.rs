//! The filtered stream's rules, kept equal to the catalog: one rule per product matching
//! its purchase and confirmation hashtags, tagged so that hashbuy knows which rules are
//! its own. Rules with other tags belong to someone else on the same X app and are left
//! alone.

use crate::domain::{Hashtag, UserId};

/// Every rule hashbuy manages has a tag starting with this.
pub const TAG_PREFIX: &str = "hashbuy:";

/// A rule as X stores it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamRule {
    pub id: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A rule to add: X gives it an id.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewRule {
    pub value: String,
    pub tag: String,
}

/// What it takes to make the stream's rules match the catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub add: Vec<NewRule>,
    /// Ids of hashbuy's rules that no product needs any more.
    pub delete: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.delete.is_empty()
    }
}

/// The rule for one product: posts with either of its hashtags, except the brand's own
/// (the brand posts the confirmation hashtag in every reply).
pub fn for_product(hashtag: &Hashtag, brand: &UserId) -> NewRule {
    NewRule {
        value: format!("({hashtag} OR {}) -from:{brand}", hashtag.confirmation()),
        tag: format!("{TAG_PREFIX}{}", hashtag.key()),
    }
}

/// Compares the rules the catalog needs with the ones X has. A rule is kept only when
/// both its value and tag are as wanted (a product renamed in case, or a brand account
/// changed, gives a new rule); duplicates of a kept rule are deleted.
pub fn plan(catalog: &[Hashtag], brand: &UserId, existing: &[StreamRule]) -> Plan {
    let wanted: Vec<NewRule> = catalog.iter().map(|h| for_product(h, brand)).collect();
    let mut kept: Vec<&NewRule> = Vec::new();
    let mut delete = Vec::new();
    for rule in existing {
        let Some(tag) = rule.tag.as_deref().filter(|t| t.starts_with(TAG_PREFIX)) else {
            continue;
        };
        let same = |w: &&NewRule| w.value == rule.value && w.tag == tag;
        match wanted.iter().find(same) {
            Some(w) if !kept.contains(&w) => kept.push(w),
            _ => delete.push(rule.id.clone()),
        }
    }
    let add = wanted
        .iter()
        .filter(|w| !kept.contains(w))
        .cloned()
        .collect();
    Plan { add, delete }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> Hashtag {
        Hashtag::parse(s).expect("hashtag")
    }

    fn brand() -> UserId {
        UserId::parse("1000").expect("id")
    }

    fn rule(id: &str, new: &NewRule) -> StreamRule {
        StreamRule {
            id: id.into(),
            value: new.value.clone(),
            tag: Some(new.tag.clone()),
        }
    }

    #[test]
    fn a_product_rule_matches_both_hashtags_but_not_the_brand() {
        let r = for_product(&tag("BuyMug"), &brand());
        assert_eq!(r.value, "(#BuyMug OR #BuyMug_Confirm) -from:1000");
        assert_eq!(r.tag, "hashbuy:buymug");
    }

    #[test]
    fn adds_what_is_missing_and_deletes_what_is_stale() {
        let mug = for_product(&tag("BuyMug"), &brand());
        let old = for_product(&tag("BuyOld"), &brand());
        let existing = vec![rule("1", &mug), rule("2", &old)];
        let plan = plan(&[tag("BuyMug"), tag("BuyCap")], &brand(), &existing);
        assert_eq!(plan.add, vec![for_product(&tag("BuyCap"), &brand())]);
        assert_eq!(plan.delete, vec!["2".to_owned()]);
    }

    #[test]
    fn leaves_other_peoples_rules_alone() {
        let foreign = StreamRule {
            id: "9".into(),
            value: "cats has:images".into(),
            tag: Some("marketing".into()),
        };
        let untagged = StreamRule {
            id: "8".into(),
            value: "#BuyMug".into(),
            tag: None,
        };
        let plan = plan(&[], &brand(), &[foreign, untagged]);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn is_empty_once_in_sync_and_drops_duplicates() {
        let mug = for_product(&tag("BuyMug"), &brand());
        let in_sync = plan(&[tag("BuyMug")], &brand(), &[rule("1", &mug)]);
        assert!(in_sync.is_empty(), "{in_sync:?}");
        let twice = plan(
            &[tag("BuyMug")],
            &brand(),
            &[rule("1", &mug), rule("2", &mug)],
        );
        assert_eq!(
            twice,
            Plan {
                add: vec![],
                delete: vec!["2".into()]
            }
        );
    }

    #[test]
    fn a_changed_value_is_replaced() {
        let mug = for_product(&tag("BuyMug"), &brand());
        let stale = StreamRule {
            id: "1".into(),
            value: "#BuyMug".into(),
            tag: Some(mug.tag.clone()),
        };
        let plan = plan(&[tag("BuyMug")], &brand(), &[stale]);
        assert_eq!(plan.add, vec![mug]);
        assert_eq!(plan.delete, vec!["1".to_owned()]);
    }
}
