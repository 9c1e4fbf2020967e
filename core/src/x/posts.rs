//! A post as hashbuy sees it, whichever way X delivered it, and what it means.

use crate::domain::{
    ConfirmationRetweeted, Event, Hashtag, PurchaseId, PurchaseRequested, ScreenName, TagKind,
    TweetId, UserId,
};

/// The fields of a delivered post that matter here, in X's own strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub id: String,
    pub author_id: String,
    pub screen_name: String,
    pub hashtags: Vec<String>,
    /// Set when the post is a retweet.
    pub retweet_of: Option<Original>,
    /// Set when the post replies to another.
    pub reply_to: Option<Reply>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Original {
    pub id: String,
    pub author_id: String,
    pub hashtags: Vec<String>,
    /// The post the original answers, when X says: for the brand's prompt, the request.
    pub in_reply_to: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub id: String,
    pub user_id: String,
}

fn kinds(tags: &[String]) -> impl Iterator<Item = TagKind> + '_ {
    tags.iter()
        .filter_map(|t| Hashtag::parse(t).ok())
        .map(|t| t.kind())
}

fn confirms(tags: &[String]) -> bool {
    kinds(tags).any(|k| matches!(k, TagKind::Confirmation(_)))
}

/// Turns one delivered post into what happened, if it concerns hashbuy:
/// - the buyer's retweet of a brand post carrying a confirmation hashtag, or their reply
///   to such a post with the confirmation hashtag, is a [`ConfirmationRetweeted`];
/// - any other post with a purchase hashtag is a [`PurchaseRequested`];
/// - the brand's own posts, posts with malformed ids, requests whose author's screen
///   name is not one X allows (the reply would echo it), and everything else are nothing.
pub fn classify(post: &Seen, brand: &UserId) -> Option<Event> {
    let author = UserId::parse(&post.author_id).ok()?;
    if author == *brand {
        return None;
    }
    let tweet_id = TweetId::parse(&post.id).ok()?;
    if let Some(original) = &post.retweet_of {
        if original.author_id != brand.as_str() || !confirms(&original.hashtags) {
            return None;
        }
        return Some(Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id,
            user_id: author,
            brand_tweet_id: TweetId::parse(&original.id).ok()?,
            request_tweet_id: original
                .in_reply_to
                .as_deref()
                .and_then(|id| TweetId::parse(id).ok()),
        }));
    }
    if let Some(reply) = &post.reply_to
        && reply.user_id == brand.as_str()
        && confirms(&post.hashtags)
    {
        return Some(Event::ConfirmationRetweeted(ConfirmationRetweeted {
            tweet_id,
            user_id: author,
            brand_tweet_id: TweetId::parse(&reply.id).ok()?,
            request_tweet_id: None,
        }));
    }
    let tag = kinds(&post.hashtags).find_map(|k| match k {
        TagKind::Purchase(tag) => Some(tag),
        _ => None,
    })?;
    let screen_name = ScreenName::parse(&post.screen_name).ok()?;
    Some(Event::PurchaseRequested(PurchaseRequested {
        purchase_id: PurchaseId::for_request(&tweet_id),
        tweet_id,
        user_id: author,
        screen_name: screen_name.as_str().to_owned(),
        hashtag: tag.as_str().to_owned(),
    }))
}
