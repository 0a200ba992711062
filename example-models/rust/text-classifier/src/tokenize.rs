//! A tokeniser for any language: word unigrams and bigrams, and character unigrams and bigrams
//! for scripts written without spaces.
//!
//! The text is lower-cased (full Unicode case mapping), then split into runs of letters and
//! digits; combining marks stay with the character they modify, so Thai tone marks, Indic
//! viramas and decomposed accents do not cut a word in two. A run in a script written without
//! spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) has no words to find
//! without a dictionary, so it yields its characters and pairs of adjacent characters instead,
//! the usual dictionary-free features for those languages.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Bumped whenever [`tokenize`] changes what it returns for some text: token counts stored by
/// an older tokeniser cannot be updated incrementally and must be rebuilt from the examples.
pub const TOKENIZER_VERSION: u32 = 1;

/// The features of `text`, in order: every word, every pair of adjacent words (`"a b"`), and
/// for runs of a script without spaces every character and pair of adjacent characters.
///
/// Word pairs span punctuation and line breaks (as scikit-learn's `ngram_range=(1, 2)` does)
/// but not a run of such a script, whose characters are not words.
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut tokens = Vec::new();
    let mut previous_word: Option<&str> = None;
    for run in runs(&lower) {
        match run {
            Run::Word(word) => {
                tokens.push(word.to_owned());
                if let Some(previous) = previous_word {
                    tokens.push(format!("{previous} {word}"));
                }
                previous_word = Some(word);
            }
            Run::Unspaced(run) => {
                let characters = characters(run);
                tokens.extend(characters.iter().map(|c| (*c).to_owned()));
                tokens.extend(characters.windows(2).map(|pair| pair.concat()));
                previous_word = None;
            }
        }
    }
    tokens
}

/// A maximal run of word characters of one kind.
#[derive(Debug, PartialEq)]
enum Run<'a> {
    /// Letters and digits of a script that separates words.
    Word(&'a str),
    /// Characters of a script written without spaces.
    Unspaced(&'a str),
}

/// The runs of `text`, in order; everything between them (spaces, punctuation, symbols,
/// emoji) separates them and is dropped.
fn runs(text: &str) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    // The open run: its start byte and whether it is unspaced.
    let mut open: Option<(usize, bool)> = None;
    for (at, c) in text.char_indices() {
        let kind = if is_mark(c) {
            // A mark belongs to the run it follows; a mark with nothing before it is noise.
            open.map(|(_, unspaced)| unspaced)
        } else if c.is_alphanumeric() {
            Some(is_unspaced(c))
        } else {
            None
        };
        match (open, kind) {
            (Some((_, was)), Some(now)) if was == now => {}
            (Some((start, was)), _) => {
                runs.push(run(&text[start..at], was));
                open = kind.map(|now| (at, now));
            }
            (None, _) => open = kind.map(|now| (at, now)),
        }
    }
    if let Some((start, unspaced)) = open {
        runs.push(run(&text[start..], unspaced));
    }
    runs
}

fn run(text: &str, unspaced: bool) -> Run<'_> {
    if unspaced {
        Run::Unspaced(text)
    } else {
        Run::Word(text)
    }
}

/// The characters of `run` as the reader sees them: each base character with the combining
/// marks that follow it.
fn characters(run: &str) -> Vec<&str> {
    let mut characters = Vec::new();
    let mut start = 0;
    for (at, c) in run.char_indices() {
        if at > start && !is_mark(c) {
            characters.push(&run[start..at]);
            start = at;
        }
    }
    if start < run.len() {
        characters.push(&run[start..]);
    }
    characters
}

/// True for combining marks (general categories Mn, Mc, Me).
fn is_mark(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Mark
}

/// True for characters of scripts written without spaces between words. Unicode has no
/// property for this, so the blocks are listed by hand; Korean is absent on purpose, since
/// it separates words with spaces.
fn is_unspaced(c: char) -> bool {
    matches!(
        c,
        '\u{0E00}'..='\u{0E7F}'         // Thai
            | '\u{0E80}'..='\u{0EFF}'   // Lao
            | '\u{1000}'..='\u{109F}'   // Myanmar
            | '\u{1780}'..='\u{17FF}'   // Khmer
            | '\u{19E0}'..='\u{19FF}'   // Khmer symbols
            | '\u{3005}'..='\u{3007}'   // 々 〆 〇
            | '\u{3021}'..='\u{3029}'   // Hangzhou numerals
            | '\u{3031}'..='\u{3035}'   // vertical kana repeat marks
            | '\u{3040}'..='\u{309F}'   // Hiragana
            | '\u{30A0}'..='\u{30FF}'   // Katakana
            | '\u{3100}'..='\u{312F}'   // Bopomofo
            | '\u{31A0}'..='\u{31BF}'   // Bopomofo extended
            | '\u{31F0}'..='\u{31FF}'   // Katakana phonetic extensions
            | '\u{3400}'..='\u{4DBF}'   // CJK unified ideographs extension A
            | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
            | '\u{A9E0}'..='\u{A9FF}'   // Myanmar extended-B
            | '\u{AA60}'..='\u{AA7F}'   // Myanmar extended-A
            | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
            | '\u{FF66}'..='\u{FF9F}'   // half-width Katakana
            | '\u{1B000}'..='\u{1B16F}' // kana supplement and extensions
            | '\u{20000}'..='\u{3FFFF}' // CJK extensions B and later (planes 2 and 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_unigrams_and_bigrams() {
        assert_eq!(
            tokenize("The GOAL, scored!"),
            ["the", "goal", "the goal", "scored", "goal scored"]
        );
        assert!(tokenize("  ...!? ").is_empty());
        assert!(tokenize("").is_empty());
    }

    #[test]
    fn unicode_words_stay_whole() {
        // ß and accented letters are letters; Unicode lower-casing maps Ä and Σ.
        assert_eq!(
            tokenize("Fußball-ÄRGER"),
            ["fußball", "ärger", "fußball ärger"]
        );
        assert_eq!(tokenize("ΣΟΦΙΑ"), ["σοφια"]);
        // Cyrillic, digits, and a decomposed accent (e + U+0301) stays in its word.
        assert_eq!(tokenize("Матч 2:1"), ["матч", "2", "матч 2", "1", "2 1"]);
        assert_eq!(
            tokenize("cafe\u{301} noir"),
            ["cafe\u{301}", "noir", "cafe\u{301} noir"]
        );
        // A Devanagari virama (a mark that is not alphabetic) does not split the word.
        assert_eq!(tokenize("हिन्दी"), ["हिन्दी"]);
        // Korean separates words with spaces: words, not characters.
        assert_eq!(tokenize("축구 경기"), ["축구", "경기", "축구 경기"]);
    }

    #[test]
    fn unspaced_scripts_give_character_unigrams_and_bigrams() {
        assert_eq!(
            tokenize("サッカー選手"),
            [
                "サ", "ッ", "カ", "ー", "選", "手", "サッ", "ッカ", "カー", "ー選", "選手"
            ]
        );
        // Punctuation ends a run: no pair across "。".
        let tokens = tokenize("料理。野菜");
        assert_eq!(tokens, ["料", "理", "料理", "野", "菜", "野菜"]);
        // Thai tone marks stay on their consonant: ไม่ is two characters, ไ and ม่.
        assert_eq!(tokenize("ไม่"), ["ไ", "ม่", "ไม่"]);
    }

    #[test]
    fn mixed_runs_split_by_script() {
        // Latin words and Japanese characters in one run of letters.
        assert_eq!(
            tokenize("new iPhoneを買う"),
            [
                "new",
                "iphone",
                "new iphone",
                "を",
                "買",
                "う",
                "を買",
                "買う"
            ]
        );
        // A run of Japanese breaks word pairs: no "new go".
        let tokens = tokenize("new 日本 go");
        assert!(tokens.contains(&"go".to_owned()));
        assert!(!tokens.iter().any(|t| t == "new go" || t == "日本 go"));
    }

    #[test]
    fn a_leading_mark_is_dropped() {
        assert_eq!(tokenize("\u{301}abc"), ["abc"]);
    }
}
