/*
 * sha256.h - SHA-256 (FIPS 180-4) of a buffer or a file.  Used for the
 * workflow hash recorded in every checkpoint, so a resume can tell that the
 * workflow changed.  Kept here rather than pulling libcrypto into the static
 * rover-agent.
 */
#ifndef ROVER_SHA256_H
#define ROVER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

void sha256_digest(const void *data, size_t len, uint8_t out[32]);

/* Lowercase hex digest of data into hex (SHA256_HEX_LEN bytes). */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]);

/* Hex digest of a file's bytes (files up to 64 MiB). */
int sha256_file_hex(const char *path, char hex[SHA256_HEX_LEN], struct rv_error **err);

#endif
