/* The heap an idle TLS 1.3 server session holds in the system's TLS libraries (OpenSSL 3 and GnuTLS), for the
   question of issue 13: would a TLS handler of our own around one of them hold less per idle SMTP session than
   swift-nio-ssl's? Each library gets N server sessions (X25519, the given certificate, no session tickets, buffers
   released where the library offers it), each after a handshake and one small record each way with a client session
   of the same library over a socketpair; the client side is then freed, and what the live server sessions hold is
   read from mallinfo2. One warm-up session first, so lazy global state is not counted.

   build: gcc -O2 -o idle_tls_heap idle_tls_heap.c -lssl -lcrypto -lgnutls
   usage: idle_tls_heap CERT.pem KEY.pem [SESSIONS] */
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

static void nonblocking_pair(int pair[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) { perror("socketpair"); exit(1); }
    fcntl(pair[0], F_SETFL, O_NONBLOCK);
    fcntl(pair[1], F_SETFL, O_NONBLOCK);
}

static SSL *openssl_session(SSL_CTX *server, SSL_CTX *client) {
    int pair[2];
    nonblocking_pair(pair);
    SSL *s = SSL_new(server), *c = SSL_new(client);
    SSL_set_fd(s, pair[0]);
    SSL_set_fd(c, pair[1]);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int rs = 0, rc = 0;
    for (int step = 0; step < 100 && (rs != 1 || rc != 1); step++) {
        if (rc != 1) rc = SSL_do_handshake(c);
        if (rs != 1) rs = SSL_do_handshake(s);
    }
    if (rs != 1 || rc != 1) { fprintf(stderr, "OpenSSL handshake failed\n"); exit(1); }
    char buffer[4096];
    SSL_write(c, "EHLO x\r\n", 8);
    for (int step = 0; step < 100 && SSL_read(s, buffer, sizeof buffer) <= 0; step++) {}
    SSL_write(s, "250 ok\r\n", 8);
    for (int step = 0; step < 100 && SSL_read(c, buffer, sizeof buffer) <= 0; step++) {}
    SSL_free(c);
    close(pair[1]);
    return s;
}

static double openssl_idle(const char *cert, const char *key, int sessions) {
    SSL_CTX *server = SSL_CTX_new(TLS_server_method()), *client = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_use_certificate_file(server, cert, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_use_PrivateKey_file(server, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "OpenSSL could not load %s / %s\n", cert, key);
        exit(1);
    }
    SSL_CTX_set_min_proto_version(server, TLS1_3_VERSION);
    SSL_CTX_set_mode(server, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(server, 0);
    SSL_CTX_set1_groups_list(server, "X25519");
    SSL_free(openssl_session(server, client));
    size_t before = heap_in_use();
    for (int i = 0; i < sessions; i++) openssl_session(server, client);
    return (double)(heap_in_use() - before) / 1024.0 / sessions;
}

static gnutls_session_t gnutls_pair_session(gnutls_certificate_credentials_t server_credentials,
                                            gnutls_certificate_credentials_t client_credentials,
                                            gnutls_priority_t priority) {
    int pair[2];
    nonblocking_pair(pair);
    gnutls_session_t s, c;
    gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS);
    gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
    gnutls_priority_set(s, priority);
    gnutls_priority_set(c, priority);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, server_credentials);
    gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, client_credentials);
    gnutls_transport_set_int(s, pair[0]);
    gnutls_transport_set_int(c, pair[1]);
    int rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN;
    for (int step = 0; step < 100 && (rs != 0 || rc != 0); step++) {
        if (rc != 0) rc = gnutls_handshake(c);
        if (rs != 0) rs = gnutls_handshake(s);
    }
    if (rs != 0 || rc != 0) { fprintf(stderr, "GnuTLS handshake failed\n"); exit(1); }
    char buffer[4096];
    gnutls_record_send(c, "EHLO x\r\n", 8);
    for (int step = 0; step < 100 && gnutls_record_recv(s, buffer, sizeof buffer) == GNUTLS_E_AGAIN; step++) {}
    gnutls_record_send(s, "250 ok\r\n", 8);
    for (int step = 0; step < 100 && gnutls_record_recv(c, buffer, sizeof buffer) == GNUTLS_E_AGAIN; step++) {}
    gnutls_deinit(c);
    close(pair[1]);
    return s;
}

static double gnutls_idle(const char *cert, const char *key, int sessions) {
    gnutls_global_init();
    gnutls_certificate_credentials_t server, client;
    gnutls_certificate_allocate_credentials(&server);
    gnutls_certificate_allocate_credentials(&client);
    if (gnutls_certificate_set_x509_key_file(server, cert, key, GNUTLS_X509_FMT_PEM) < 0) {
        fprintf(stderr, "GnuTLS could not load %s / %s\n", cert, key);
        exit(1);
    }
    gnutls_priority_t priority;
    gnutls_priority_init(&priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519", NULL);
    gnutls_deinit(gnutls_pair_session(server, client, priority));
    size_t before = heap_in_use();
    for (int i = 0; i < sessions; i++) gnutls_pair_session(server, client, priority);
    return (double)(heap_in_use() - before) / 1024.0 / sessions;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CERT.pem KEY.pem [SESSIONS]\n", argv[0]);
        return 2;
    }
    int sessions = argc > 3 ? atoi(argv[3]) : 1000;
    if (sessions < 1 || sessions > 20000) {
        fprintf(stderr, "SESSIONS must be between 1 and 20000\n");
        return 2;
    }
    double openssl = openssl_idle(argv[1], argv[2], sessions);
    double gnutls = gnutls_idle(argv[1], argv[2], sessions);
    printf("idle TLS 1.3 server session, heap in use (%d sessions each)\n", sessions);
    printf("  %-28s %6.2f KiB\n", OpenSSL_version(OPENSSL_VERSION), openssl);
    printf("  GnuTLS %-21s %6.2f KiB\n", gnutls_check_version(NULL), gnutls);
    return 0;
}
