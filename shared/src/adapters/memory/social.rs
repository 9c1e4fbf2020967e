use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::lock;
use crate::domain::{TweetId, UserId};
use crate::ports::{Plan, PortError, PortResult, Social, StreamRule, StreamRules};

/// A post as the X stand-in recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedTweet {
    pub id: TweetId,
    pub author_id: UserId,
    pub text: String,
    pub in_reply_to: Option<TweetId>,
}

/// An X stand-in that records the brand's posts and the stream's rules, and numbers them
/// like X does.
#[derive(Debug)]
pub struct XStandIn {
    brand: UserId,
    next_id: AtomicU64,
    posts: Mutex<Vec<PostedTweet>>,
    rules: Mutex<Vec<StreamRule>>,
}

impl XStandIn {
    pub fn new(brand: UserId) -> Self {
        Self {
            brand,
            next_id: AtomicU64::new(1_900_000_000_000_000_000),
            posts: Mutex::new(Vec::new()),
            rules: Mutex::new(Vec::new()),
        }
    }

    pub fn brand(&self) -> &UserId {
        &self.brand
    }

    pub fn posts(&self) -> Vec<PostedTweet> {
        lock(&self.posts).clone()
    }

    fn next_id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::SeqCst).to_string()
    }
}

#[async_trait]
impl Social for XStandIn {
    async fn reply(&self, to: &TweetId, text: &str) -> PortResult<TweetId> {
        let id = TweetId::parse(&self.next_id()).map_err(|e| PortError::new("x stand-in", e))?;
        lock(&self.posts).push(PostedTweet {
            id: id.clone(),
            author_id: self.brand.clone(),
            text: text.to_owned(),
            in_reply_to: Some(to.clone()),
        });
        Ok(id)
    }

    async fn find_reply(&self, to: &TweetId, text: &str) -> PortResult<Option<TweetId>> {
        let posts = lock(&self.posts);
        let found = posts
            .iter()
            .rev()
            .find(|p| p.in_reply_to.as_ref() == Some(to) && p.text == text);
        Ok(found.map(|p| p.id.clone()))
    }
}

#[async_trait]
impl StreamRules for XStandIn {
    async fn list(&self) -> PortResult<Vec<StreamRule>> {
        Ok(lock(&self.rules).clone())
    }

    async fn apply(&self, plan: &Plan) -> PortResult<()> {
        let mut rules = lock(&self.rules);
        rules.retain(|r| !plan.delete.contains(&r.id));
        // As X does, a value in the rule set already is not added twice.
        for new in &plan.add {
            if rules.iter().any(|r| r.value == new.value) {
                continue;
            }
            rules.push(StreamRule {
                id: self.next_id(),
                value: new.value.clone(),
                tag: Some(new.tag.clone()),
            });
        }
        Ok(())
    }
}
