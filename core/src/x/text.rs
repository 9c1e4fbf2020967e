//! How X counts a post's length (twitter-text, version 3): each character weighs 2,
//! except those of the Latin, Greek, Cyrillic and a few punctuation ranges, which weigh
//! 1; a link weighs 23 whatever its length; a post may weigh at most 280. A CJK
//! character or an emoji therefore counts double, so counting `char`s is not enough.
//!
//! Emoji sequences joined by U+200D count here per code point, more than X counts them:
//! a post this module accepts X accepts too.

/// The most a post may weigh.
pub const MAX_WEIGHT: usize = 280;

/// What a link weighs, once X has shortened it to a t.co one.
const LINK_WEIGHT: usize = 23;

/// The ranges of code points that weigh 1 (twitter-text's v3 configuration).
const LIGHT: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

fn char_weight(c: char) -> usize {
    let c = c as u32;
    if LIGHT.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) {
        1
    } else {
        2
    }
}

fn is_link(word: &str) -> bool {
    word.starts_with("https://") || word.starts_with("http://")
}

/// The weight of `text` as X counts it.
pub fn weight(text: &str) -> usize {
    let mut total = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        total += if is_link(word) {
            LINK_WEIGHT
        } else {
            word.chars().map(char_weight).sum()
        };
        let space_end = tail
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(tail.len());
        total += tail[..space_end].chars().map(char_weight).sum::<usize>();
        rest = &tail[space_end..];
    }
    total
}

/// `text` cut so that it weighs at most `max` (an ellipsis marks the cut): for what a
/// post echoes, a product name or a hashtag, never for the post's own words.
pub fn cut(text: &str, max: usize) -> String {
    if weight(text) <= max {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut used = char_weight('…');
    for c in text.chars() {
        used += char_weight(c);
        if used > max {
            break;
        }
        kept.push(c);
    }
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighs_as_x_does() {
        assert_eq!(weight("hello"), 5);
        assert_eq!(weight("café"), 4);
        assert_eq!(weight("日本語"), 6);
        assert_eq!(weight("😀"), 2);
        assert_eq!(weight("a “quoted” word"), 15);
        assert_eq!(
            weight("see https://example.com/a/very/long/path/indeed ok"),
            4 + 23 + 3
        );
    }

    #[test]
    fn cuts_to_the_weight_with_an_ellipsis() {
        assert_eq!(cut("Mug", 10), "Mug");
        // The ellipsis (U+2026) is outside the light ranges: it weighs 2.
        assert_eq!(cut("abcdefghij", 5), "abc…");
        let cjk = cut(&"語".repeat(30), 21);
        assert!(weight(&cjk) <= 21, "{cjk}");
        assert!(cjk.ends_with('…'));
    }
}
