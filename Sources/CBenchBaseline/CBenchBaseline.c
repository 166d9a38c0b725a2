#include "CBenchBaseline.h"

#include <openssl/evp.h>
#include <string.h>

// Slicing-by-8 CRC-32C, the algorithm WandProtocol's CRC32C uses.
static uint32_t crc_tables[8][256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++) v = (v & 1) ? (v >> 1) ^ 0x82F63B78u : v >> 1;
        crc_tables[0][i] = v;
    }
    for (int s = 1; s < 8; s++)
        for (int i = 0; i < 256; i++)
            crc_tables[s][i] = (crc_tables[s - 1][i] >> 8) ^ crc_tables[0][crc_tables[s - 1][i] & 0xFF];
    crc_ready = 1;
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
    if (!crc_ready) crc_init();
    uint32_t crc = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t low = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc_tables[7][low & 0xFF] ^ crc_tables[6][(low >> 8) & 0xFF] ^ crc_tables[5][(low >> 16) & 0xFF]
            ^ crc_tables[4][low >> 24] ^ crc_tables[3][p[4]] ^ crc_tables[2][p[5]] ^ crc_tables[1][p[6]]
            ^ crc_tables[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc_tables[0][(crc ^ *p++) & 0xFF];
    return crc ^ 0xFFFFFFFFu;
}

static size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out) {
    size_t code_index = 0, write = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_index] = code;
            code_index = write++;
            code = 1;
        } else {
            out[write++] = in[i];
            if (++code == 0xFF && i + 1 < n) {
                out[code_index] = code;
                code_index = write++;
                code = 1;
            }
        }
    }
    out[code_index] = code;
    return write;
}

size_t pw_c_frame_encode(const uint8_t *body, size_t n, uint8_t *out) {
    uint8_t staged[2048];
    if (n + 4 > sizeof staged) return 0;
    memcpy(staged, body, n);
    uint32_t crc = crc32c(body, n);
    staged[n] = (uint8_t)crc;
    staged[n + 1] = (uint8_t)(crc >> 8);
    staged[n + 2] = (uint8_t)(crc >> 16);
    staged[n + 3] = (uint8_t)(crc >> 24);
    out[0] = 0;
    size_t length = cobs_encode(staged, n + 4, out + 1);
    out[length + 1] = 0;
    return length + 2;
}

long pw_c_frame_decode(uint8_t *wire, size_t n, uint8_t *out) {
    // Skip the leading delimiter and stop at the trailing one.
    size_t start = 0;
    while (start < n && wire[start] == 0) start++;
    size_t end = start;
    while (end < n && wire[end] != 0) end++;
    size_t read = start, write = start;
    while (read < end) {
        size_t code = wire[read++];
        if (code == 0 || read + code - 1 > end) return -1;
        for (size_t k = 1; k < code; k++) wire[write++] = wire[read++];
        if (code != 0xFF && read < end) wire[write++] = 0;
    }
    size_t length = write - start;
    if (length <= 4) return -1;
    const uint8_t *body = wire + start;
    size_t body_length = length - 4;
    uint32_t received = (uint32_t)body[body_length] | (uint32_t)body[body_length + 1] << 8
        | (uint32_t)body[body_length + 2] << 16 | (uint32_t)body[body_length + 3] << 24;
    if (received != crc32c(body, body_length)) return -1;
    memcpy(out, body, body_length);
    return (long)body_length;
}

// With kept == NULL, one context per call, as a host that seals one
// message at a time would; otherwise a context made by
// pw_c_kept_context_new, keyed once, that only takes the nonce here.
static int aead_seal(EVP_CIPHER_CTX *kept, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                     size_t aad_len, const uint8_t *plaintext, size_t n, uint8_t *out) {
    EVP_CIPHER_CTX *ctx = kept != NULL ? kept : EVP_CIPHER_CTX_new();
    int length = 0, ok = ctx != NULL
        && (kept != NULL ? EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce)
                         : EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce)) == 1
        && EVP_EncryptUpdate(ctx, NULL, &length, aad, (int)aad_len) == 1
        && EVP_EncryptUpdate(ctx, out, &length, plaintext, (int)n) == 1
        && EVP_EncryptFinal_ex(ctx, out + length, &length) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + n) == 1;
    if (kept == NULL) EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int aead_open(EVP_CIPHER_CTX *kept, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                     size_t aad_len, const uint8_t *sealed, size_t n, uint8_t *out) {
    EVP_CIPHER_CTX *ctx = kept != NULL ? kept : EVP_CIPHER_CTX_new();
    int length = 0, ok = ctx != NULL
        && (kept != NULL ? EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce)
                         : EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce)) == 1
        && EVP_DecryptUpdate(ctx, NULL, &length, aad, (int)aad_len) == 1
        && EVP_DecryptUpdate(ctx, out, &length, sealed, (int)n) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(sealed + n)) == 1
        && EVP_DecryptFinal_ex(ctx, out + length, &length) == 1;
    if (kept == NULL) EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int pw_c_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *plaintext, size_t n, uint8_t *out) {
    return aead_seal(NULL, key, nonce, aad, aad_len, plaintext, n, out);
}

int pw_c_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *sealed, size_t n, uint8_t *out) {
    return aead_open(NULL, key, nonce, aad, aad_len, sealed, n, out);
}

void *pw_c_kept_context_new(const uint8_t key[32], int encrypt) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL, encrypt) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

void pw_c_kept_context_free(void *context) { EVP_CIPHER_CTX_free(context); }

// The product's sealed message (PROTOCOL.md 7.2), as C would build it on
// the stack: nonce direction || 00 00 00 || counter LE, associated data
// header || session id LE, plaintext padded with 0x80 then zeros to the
// smallest of the fixed sizes. The ratio is taken against a fresh EVP
// context per message (kept == NULL), because swift-crypto's ChaChaPoly
// builds its AEAD context from the key on every call (its public API
// offers no context to keep), so a kept context would compare C with
// state Swift is not allowed to keep; the bench prints the kept-context
// figure beside it for information.
static const size_t pad_sizes[] = {64, 128, 256, 512, 1024, 2016};

static void put_le(uint8_t *p, uint64_t v, int width) {
    for (int i = 0; i < width; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void message_nonce_and_aad(uint8_t direction, uint64_t counter, const uint8_t header[5], uint32_t session_id,
                                  uint8_t nonce[12], uint8_t aad[9]) {
    nonce[0] = direction;
    nonce[1] = nonce[2] = nonce[3] = 0;
    put_le(nonce + 4, counter, 8);
    memcpy(aad, header, 5);
    put_le(aad + 5, session_id, 4);
}

long pw_c_seal_message(void *kept, const uint8_t key[32], uint8_t direction, uint64_t counter, const uint8_t header[5],
                       uint32_t session_id, const uint8_t *plaintext, size_t n, uint8_t *out) {
    size_t size = 0;
    for (size_t i = 0; i < sizeof pad_sizes / sizeof pad_sizes[0] && size == 0; i++)
        if (pad_sizes[i] >= n + 1) size = pad_sizes[i];
    if (size == 0) return -1;
    uint8_t padded[2016], nonce[12], aad[9];
    memcpy(padded, plaintext, n);
    padded[n] = 0x80;
    memset(padded + n + 1, 0, size - n - 1);
    message_nonce_and_aad(direction, counter, header, session_id, nonce, aad);
    put_le(out, counter, 8);
    if (aead_seal(kept, key, nonce, aad, sizeof aad, padded, size, out + 8) != 0) return -1;
    return (long)(8 + size + 16);
}

long pw_c_open_message(void *kept, const uint8_t key[32], uint8_t direction, const uint8_t header[5], uint32_t session_id,
                       const uint8_t *payload, size_t n, uint8_t *out) {
    if (n < 8 + 16) return -1;
    uint64_t counter = 0;
    for (int i = 7; i >= 0; i--) counter = counter << 8 | payload[i];
    uint8_t nonce[12], aad[9];
    message_nonce_and_aad(direction, counter, header, session_id, nonce, aad);
    size_t size = n - 8 - 16;
    int known = 0;
    for (size_t i = 0; i < sizeof pad_sizes / sizeof pad_sizes[0]; i++) known |= pad_sizes[i] == size;
    if (!known || aead_open(kept, key, nonce, aad, sizeof aad, payload + 8, size, out) != 0) return -1;
    size_t end = size;
    while (end > 0 && out[end - 1] == 0) end--;
    if (end == 0 || out[end - 1] != 0x80) return -1;
    return (long)(end - 1);
}
