#ifndef SASLDB_C_BERKELEY_DB_SHIMS_H
#define SASLDB_C_BERKELEY_DB_SHIMS_H

#include <db.h>
#include <stdint.h>

/* Called with each key; a non-zero return stops the walk. */
typedef int (*sasldb_bdb_key_callback)(const void *key, uint32_t length, void *context);

/* Walks every key of an open database with bulk cursor reads (DB_MULTIPLE_KEY): listing 300,000 records one
   DB_NEXT at a time spends most of its time pinning and unpinning pages, and the bulk-buffer layout can only be read
   with libdb's C macros. Returns 0, DB_NOTFOUND-free libdb error codes, or -1 when the callback stopped it. */
int sasldb_bdb_walk_keys(DB *db, sasldb_bdb_key_callback callback, void *context);

#endif
