/*
 * utf8.h: the one strict UTF-8 decoder (RFC 3629): no overlong forms, no
 * UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence. Every module that validates, replaces or walks UTF-8 uses it.
 *
 * Pure functions of their arguments: callable from any thread or loop.
 */
#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cw_utf8_decode decodes the sequence at the start of |s| (|len| bytes
 * available). Returns its length (1 to 4) with the code point in *|out_cp|
 * (may be NULL), or 0 when |len| is 0 or the bytes there are not a well-formed
 * sequence (*|out_cp| then untouched). An ASCII byte, NUL included, is a
 * sequence of 1. Borrows |s|. */
size_t cw_utf8_decode(const uint8_t *s, size_t len, uint32_t *out_cp);

/* cw_utf8_invalid_len returns how many bytes at |s| (|len| > 0) to replace by
 * one U+FFFD where cw_utf8_decode returned 0: the "maximal subpart" of Unicode
 * 3.9 and WHATWG (a bad lead byte alone, else the well-formed prefix of a
 * sequence cut short or broken), 1 to 3. Borrows |s|. */
size_t cw_utf8_invalid_len(const uint8_t *s, size_t len);

/* cw_utf8_valid_prefix returns the length of the longest prefix of |s| (|len|
 * bytes) made of whole well-formed sequences: |len| when all of it is valid.
 * NUL bytes are valid. Borrows |s|. */
size_t cw_utf8_valid_prefix(const uint8_t *s, size_t len);

#endif
