use super::{Hashtag, Money};

/// A catalog entry: what a purchase hashtag buys, at what price, and how many are left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub hashtag: Hashtag,
    pub name: String,
    pub price: Money,
    pub stock: u32,
}
