/*
 * saslauthd-load: a load client for saslauthd's protocol, for Benchmarks/saslauthd/saslauthd_bench.py.
 *
 * Each of CONCURRENCY threads repeats, until SECONDS have passed: connect to the Unix socket, send one request
 * (login, password, service, realm and client address as 16-bit big-endian counted strings, in one write as libsasl
 * does; Debian's saslauthd 2.1.28 waits for the fifth), read the
 * counted reply until the server closes, check that it is EXPECTED ("OK" or a prefix such as "NO"). It prints one JSON
 * object: requests, failures (wrong answer or I/O error), seconds, requests per second, latency percentiles in ms.
 *
 * usage: saslauthd-load SOCKET CONCURRENCY SECONDS LOGIN PASSWORD SERVICE REALM CLIENT EXPECTED
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000

static const char *socket_path, *expected;
static unsigned char request[4096];
static size_t request_length;
static double deadline;
static double *samples;
static long sample_count, failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void append(const char *text) {
    size_t length = strlen(text);
    request[request_length++] = (unsigned char)(length >> 8);
    request[request_length++] = (unsigned char)(length & 0xff);
    memcpy(request + request_length, text, length);
    request_length += length;
}

/* One request; 0 when the answer is the expected one. */
static int one_request(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, socket_path, sizeof(address.sun_path) - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) { close(fd); return -1; }
    if (write(fd, request, request_length) != (ssize_t)request_length) { close(fd); return -1; }
    unsigned char reply[2048];
    size_t received = 0;
    ssize_t count;
    while (received < sizeof(reply) && (count = read(fd, reply + received, sizeof(reply) - received)) > 0)
        received += (size_t)count;
    close(fd);
    if (received < 2) return -1;
    size_t length = (size_t)reply[0] << 8 | reply[1];
    if (received != 2 + length) return -1;
    size_t want = strlen(expected);
    return length >= want && memcmp(reply + 2, expected, want) == 0 ? 0 : -1;
}

static void *worker(void *unused) {
    (void)unused;
    while (1) {
        double start = now();
        if (start >= deadline) break;
        int status = one_request();
        double elapsed = now() - start;
        pthread_mutex_lock(&lock);
        if (status != 0) failures++;
        if (sample_count < MAX_SAMPLES) samples[sample_count++] = elapsed;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s SOCKET CONCURRENCY SECONDS LOGIN PASSWORD SERVICE REALM CLIENT EXPECTED\n", argv[0]);
        return 2;
    }
    socket_path = argv[1];
    int concurrency = atoi(argv[2]);
    double seconds = atof(argv[3]);
    for (int i = 4; i <= 8; i++) {
        if (strlen(argv[i]) > 1000) { fprintf(stderr, "argument too long\n"); return 2; }
        append(argv[i]);
    }
    expected = argv[9];
    if (concurrency < 1 || concurrency > 1024 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    samples = malloc(sizeof(double) * MAX_SAMPLES);
    if (!samples) return 1;
    pthread_t threads[1024];
    double start = now();
    deadline = start + seconds;
    for (int i = 0; i < concurrency; i++) pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < concurrency; i++) pthread_join(threads[i], NULL);
    double elapsed = now() - start;
    qsort(samples, (size_t)sample_count, sizeof(double), compare);
    double p50 = sample_count ? samples[sample_count / 2] : 0;
    double p99 = sample_count ? samples[(long)(sample_count * 0.99)] : 0;
    printf("{\"requests\": %ld, \"failures\": %ld, \"seconds\": %.3f, \"rps\": %.1f, \"p50_ms\": %.3f, "
           "\"p99_ms\": %.3f}\n",
           sample_count, failures, elapsed, sample_count / elapsed, p50 * 1000, p99 * 1000);
    free(samples);
    return 0;
}
