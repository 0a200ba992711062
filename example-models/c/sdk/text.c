/*
 * UTF-16 offsets over UTF-8 text (see wasml.h). The text is valid UTF-8: the component
 * model guarantees it for strings, and cJSON rejects escapes of lone surrogates.
 *
 * Every UTF-8 sequence of up to 3 bytes encodes one UTF-16 code unit; a 4-byte sequence
 * (U+10000 and above: emoji, rare CJK) encodes a surrogate pair, i.e. 2 units.
 */
#include <stdlib.h>
#include <string.h>

#include "wasml.h"

/* The UTF-16 units of the character whose UTF-8 lead byte is `lead`; 0 for a continuation
 * byte, so summing over every byte of a text gives its UTF-16 length. */
static size_t units_of_byte(unsigned char lead) {
    if ((lead & 0xC0) == 0x80) {
        return 0;
    }
    return lead >= 0xF0 ? 2 : 1;
}

size_t wasml_utf16_len(const char *text, size_t len) {
    size_t units = 0;
    for (size_t i = 0; i < len; i++) {
        units += units_of_byte((unsigned char)text[i]);
    }
    return units;
}

bool wasml_utf16_to_byte(const char *text, size_t unit, size_t *byte) {
    size_t units = 0;
    size_t i = 0;
    for (; text[i] != '\0'; i++) {
        size_t n = units_of_byte((unsigned char)text[i]);
        if (n == 0) {
            continue; /* inside a character */
        }
        if (units == unit) {
            *byte = i;
            return true;
        }
        if (units > unit) {
            return false; /* `unit` was the second half of a surrogate pair */
        }
        units += n;
    }
    if (units == unit) {
        *byte = i; /* the end of the text */
        return true;
    }
    return false;
}

char *wasml_slice_utf16(const char *text, size_t start, size_t end) {
    size_t from, to;
    if (start > end || !wasml_utf16_to_byte(text, start, &from) ||
        !wasml_utf16_to_byte(text, end, &to)) {
        return NULL;
    }
    char *slice = malloc(to - from + 1);
    if (slice == NULL) {
        __builtin_trap(); /* out of memory: fail the call, as Rust would */
    }
    memcpy(slice, text + from, to - from);
    slice[to - from] = '\0';
    return slice;
}

void wasml_matches_init(wasml_matches *matches, const char *haystack, const char *needle) {
    size_t needle_len = strlen(needle);
    *matches = (wasml_matches){
        .haystack = haystack,
        .needle = needle,
        .needle_len = needle_len,
        .needle_units = wasml_utf16_len(needle, needle_len),
        .cursor = haystack,
        .cursor_unit = 0,
    };
}

bool wasml_matches_next(wasml_matches *matches, size_t *start, size_t *end) {
    if (matches->needle_len == 0 || matches->cursor == NULL) {
        return false;
    }
    /* A byte-wise match of a valid UTF-8 needle always starts on a character boundary
     * (UTF-8 is self-synchronizing), so searching bytes finds exactly the characters. */
    const char *found = strstr(matches->cursor, matches->needle);
    if (found == NULL) {
        matches->cursor = NULL;
        return false;
    }
    /* Count units only over the bytes skipped since the previous match: one pass overall. */
    size_t skipped = (size_t)(found - matches->cursor);
    *start = matches->cursor_unit + wasml_utf16_len(matches->cursor, skipped);
    *end = *start + matches->needle_units;
    matches->cursor = found + matches->needle_len;
    matches->cursor_unit = *end;
    return true;
}
