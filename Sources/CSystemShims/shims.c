#define _GNU_SOURCE
#include "CSystemShims.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

int sasldb_ofd_lock(int fd, int exclusive, int unlock) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = unlock ? F_UNLCK : (exclusive ? F_WRLCK : F_RDLCK);
    lock.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &lock);
}

ssize_t sasldb_copy_file_range(int from, int to, size_t length) {
    return copy_file_range(from, NULL, to, NULL, length, 0);
}

const char *sasldb_exec_path(void) {
    return (const char *)getauxval(AT_EXECFN);
}

int sasldb_is_privileged_exec(void) {
    return getauxval(AT_SECURE) != 0;
}

void sasldb_syslog_authpriv(int priority, const char *message) {
    /* openlog keeps the ident pointer: a string literal outlives every call. */
    openlog("sasldb", LOG_PID, LOG_AUTHPRIV);
    syslog(priority, "%s", message);
}

void sasldb_free_wiped(void *block) {
    explicit_bzero(block, malloc_usable_size(block));
    free(block);
}
