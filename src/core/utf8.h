/* src/core/utf8.h -- the one UTF-8 decoder of libsana (strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF), used by the tokenizer, the text preprocessing and the public
 * sana_utf8_valid(). */
#ifndef SANA_CORE_UTF8_H
#define SANA_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the longest valid UTF-8 prefix of s[0..n): n when all of it is valid. */
size_t sana_utf8_valid_prefix(const char *s, size_t n);
/* Decode the code point at s, which must be valid UTF-8 (checked before with
 * sana_utf8_valid_prefix); returns its length in bytes (1..4). */
int sana_utf8_next(const char *s, uint32_t *cp);
/* Encode c (at most U+10FFFF) at o; returns the bytes written (1..4). */
size_t sana_utf8_put(char *o, uint32_t c);

#endif
