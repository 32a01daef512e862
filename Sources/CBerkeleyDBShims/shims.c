#include "CBerkeleyDBShims.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sasldb_bdb_walk_keys(DB *db, sasldb_bdb_key_callback callback, void *context) {
    DBC *cursor = NULL;
    int status = db->cursor(db, NULL, &cursor, 0);
    if (status != 0) {
        return status;
    }
    u_int32_t size = 1u << 20;
    void *buffer = malloc(size);
    if (buffer == NULL) {
        cursor->close(cursor);
        return ENOMEM;
    }
    DBT key, data;
    memset(&key, 0, sizeof key);
    memset(&data, 0, sizeof data);
    int result = 0;
    for (;;) {
        data.data = buffer;
        data.ulen = size;
        data.flags = DB_DBT_USERMEM;
        status = cursor->get(cursor, &key, &data, DB_MULTIPLE_KEY | DB_NEXT);
        if (status == DB_NOTFOUND) {
            break;
        }
        if (status == DB_BUFFER_SMALL) {
            /* One record larger than the buffer: grow to what libdb asks for and retry. */
            u_int32_t wanted = data.size > size * 2 ? data.size : size * 2;
            void *grown = realloc(buffer, wanted);
            if (grown == NULL) {
                result = ENOMEM;
                break;
            }
            buffer = grown;
            size = wanted;
            continue;
        }
        if (status != 0) {
            result = status;
            break;
        }
        void *pointer;
        DB_MULTIPLE_INIT(pointer, &data);
        int stopped = 0;
        for (;;) {
            void *record_key, *record_data;
            u_int32_t key_length, data_length;
            DB_MULTIPLE_KEY_NEXT(pointer, &data, record_key, key_length, record_data, data_length);
            (void)record_data;
            (void)data_length;
            if (pointer == NULL) {
                break;
            }
            if (callback(record_key, key_length, context) != 0) {
                stopped = 1;
                break;
            }
        }
        if (stopped) {
            result = -1;
            break;
        }
    }
    free(buffer);
    cursor->close(cursor);
    return result;
}
