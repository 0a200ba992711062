//! Text offsets the way Label Studio counts them.
//!
//! Label Studio's front end measures span `start`/`end` in JavaScript string indices (UTF-16
//! code units). Rust strings are UTF-8, so byte offsets must be converted, or spans land in
//! the wrong place on any text with non-ASCII characters.

/// Length of `text` in UTF-16 code units (Label Studio's unit for offsets).
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The UTF-16 offset of byte offset `byte` in `text` (clamped to the text, rounded down to a
/// character boundary).
pub fn byte_to_utf16(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    utf16_len(&text[..byte])
}

/// The byte offset of UTF-16 offset `unit` in `text`, or `None` when it is past the end or
/// falls inside a surrogate pair.
pub fn utf16_to_byte(text: &str, unit: usize) -> Option<usize> {
    let mut units = 0;
    for (byte, ch) in text.char_indices() {
        if units == unit {
            return Some(byte);
        }
        if units > unit {
            return None;
        }
        units += ch.len_utf16();
    }
    (units == unit).then_some(text.len())
}

/// The part of `text` between UTF-16 offsets `start` and `end`.
pub fn slice_utf16(text: &str, start: usize, end: usize) -> Option<&str> {
    let from = utf16_to_byte(text, start)?;
    let to = utf16_to_byte(text, end)?;
    text.get(from..to)
}

/// Every non-overlapping occurrence of `needle` in `haystack`, as UTF-16 `(start, end)`.
pub fn find_all_utf16(haystack: &str, needle: &str) -> Vec<(usize, usize)> {
    if needle.is_empty() {
        return Vec::new();
    }
    let needle_units = utf16_len(needle);
    let mut spans = Vec::new();
    let (mut last_byte, mut last_unit) = (0, 0);
    for (byte, _) in haystack.match_indices(needle) {
        let start = last_unit + utf16_len(&haystack[last_byte..byte]);
        spans.push((start, start + needle_units));
        (last_byte, last_unit) = (byte, start);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_utf16_units() {
        let text = "a😀é b";
        assert_eq!(utf16_len(text), 6);
        assert_eq!(byte_to_utf16(text, 5), 3);
        assert_eq!(utf16_to_byte(text, 3), Some(5));
        assert_eq!(utf16_to_byte(text, 2), None, "inside the surrogate pair");
        assert_eq!(slice_utf16(text, 3, 4), Some("é"));
        assert_eq!(utf16_to_byte(text, 6), Some(text.len()));
        assert_eq!(utf16_to_byte(text, 7), None);
    }

    #[test]
    fn finds_every_occurrence_in_utf16() {
        assert_eq!(find_all_utf16("😀ab ab", "ab"), [(2, 4), (5, 7)]);
        assert_eq!(find_all_utf16("aaaa", "aa"), [(0, 2), (2, 4)]);
        assert!(find_all_utf16("abc", "").is_empty());
        assert_eq!(find_all_utf16("Ünïcödé Ünï", "Ünï"), [(0, 3), (8, 11)]);
    }
}
