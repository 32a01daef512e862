/* What the fuzz harnesses need from C: libFuzzer's driver and OpenSSL's one-shot digests, HMAC and PBKDF2. */
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* libFuzzer's own main(), callable from ours (compiler-rt, linked by -sanitize=fuzzer). */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
