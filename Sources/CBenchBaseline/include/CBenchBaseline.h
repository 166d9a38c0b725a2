// The C baseline for pumpwand-bench: the same framing (CRC-32C, COBS,
// delimiters) and sealing (ChaCha20-Poly1305 through OpenSSL's libcrypto)
// work as WandProtocol, written the way a firmware engineer would write it
// in C, so the benchmark can print Swift's cost as a ratio to it.
// Used by the benchmark only; nothing in the product links it.
#ifndef CBENCHBASELINE_H
#define CBENCHBASELINE_H

#include <stddef.h>
#include <stdint.h>

// Writes 00 | COBS(body || CRC-32C LE) | 00 to out (room for
// n + 4 + (n + 4) / 254 + 3 bytes); returns the length written.
size_t pw_c_frame_encode(const uint8_t *body, size_t n, uint8_t *out);

// Decodes one delimited frame in place (wire bytes as pw_c_frame_encode
// writes them), checks the CRC and copies the body to out; returns the
// body length, or -1 when the frame is malformed or its CRC is wrong.
long pw_c_frame_decode(uint8_t *wire, size_t n, uint8_t *out);

// ChaCha20-Poly1305 (RFC 8439) with a 12-byte nonce; out receives the
// ciphertext followed by the 16-byte tag. Returns 0 on success.
int pw_c_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *plaintext, size_t n, uint8_t *out);

// Opens what pw_c_seal wrote (n bytes of ciphertext, then the tag) into
// out; returns 0 when the tag verifies.
int pw_c_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *sealed, size_t n, uint8_t *out);

// A ChaCha20-Poly1305 context keyed once, for sealing (encrypt 1) or
// opening (encrypt 0) many messages under one key; NULL on failure.
void *pw_c_kept_context_new(const uint8_t key[32], int encrypt);
void pw_c_kept_context_free(void *context);

// One sealed message as the product seals it (PROTOCOL.md 7.2): pads the
// plaintext, builds the nonce and associated data, and writes counter LE
// || ciphertext || tag to out (room for 8 + 2016 + 16 bytes). Returns the
// length written, or -1 (plaintext too long, or the cipher failed).
// kept: NULL for a fresh context from key per message, or a sealing
// context from pw_c_kept_context_new (key is then not read).
long pw_c_seal_message(void *kept, const uint8_t key[32], uint8_t direction, uint64_t counter, const uint8_t header[5],
                       uint32_t session_id, const uint8_t *plaintext, size_t n, uint8_t *out);

// Opens what pw_c_seal_message wrote and removes the padding into out
// (room for n bytes); returns the plaintext length, or -1 when the tag,
// the padded size or the padding is wrong. kept as for pw_c_seal_message,
// an opening context.
long pw_c_open_message(void *kept, const uint8_t key[32], uint8_t direction, const uint8_t header[5], uint32_t session_id,
                       const uint8_t *payload, size_t n, uint8_t *out);

#endif
