#ifndef SASLDB_C_SYSTEM_SHIMS_H
#define SASLDB_C_SYSTEM_SHIMS_H

#include <stddef.h>
#include <sys/types.h>

/* Swift's Glibc module is built without _GNU_SOURCE, so the Linux-only calls the store needs are reached through
   these wrappers. */

/* Takes (exclusive != 0: write, else read) or releases (unlock != 0) an open-file-description lock on the whole file
   without waiting. Returns 0, or -1 with errno (EAGAIN when another description holds a conflicting lock). */
int sasldb_ofd_lock(int fd, int exclusive, int unlock);

/* Copies up to `length` bytes in the kernel from the current offsets; returns bytes copied, 0 at end, -1 with errno. */
ssize_t sasldb_copy_file_range(int from, int to, size_t length);

/* The path the program was started by (AT_EXECFN): a symlink's own name even when argv[0] says something else, as
   when a setuid wrapper execs saslpasswd2 with its own argv[0]. NULL when the kernel did not supply it. */
const char *sasldb_exec_path(void);

/* Non-zero when the process runs with privileges its caller does not have (setuid/setgid, AT_SECURE): environment
   variables must then not choose files or settings. */
int sasldb_is_privileged_exec(void);

/* Writes one record to syslog under the ident "sasldb", with the process id, in the authpriv facility (where
   password changes are looked for). The message is passed as "%s", so its text is never a format. */
void sasldb_syslog_authpriv(int priority, const char *message);

/* Overwrites a block from malloc with zeros, all of it (malloc_usable_size), then frees it: for buffers that held
   passwords, whose bytes free() would otherwise leave behind. */
void sasldb_free_wiped(void *block);

#endif
