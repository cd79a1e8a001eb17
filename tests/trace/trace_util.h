/* nfi tests of sim/trace: temporary directories and whole files.
 *
 * Every test works in its own directory made by mkdtemp under $TMPDIR
 * (or /tmp) and removes it at the end; a failure to set up ends the
 * program with a message, as it makes every later check meaningless. */
#ifndef NFI_TEST_TRACE_UTIL_H
#define NFI_TEST_TRACE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* A new empty directory; malloc'ed path. */
char *temp_dir_make(const char *tag);

/* Removes the directory tree (not following links) and frees path. */
void temp_dir_remove(char *path);

/* dir + "/" + name into a static rotating buffer (valid for the next
 * seven calls). */
const char *path_in(const char *dir, const char *name);

/* The whole file (NUL-terminated, length in *len); NULL if unreadable. */
char *file_read(const char *path, size_t *len);

/* Writes n bytes to path plainly (set-up of test inputs); ends the
 * program on failure. */
void file_write(const char *path, const void *data, size_t n);

/* Whether the file holds exactly the n bytes of data. */
bool file_equals(const char *path, const void *data, size_t n);

bool path_exists(const char *path);

/* Number of entries of dir (without . and ..), and how many of them
 * are temporaries of atomic writes. */
size_t dir_count(const char *dir, size_t *temporaries);

#endif
