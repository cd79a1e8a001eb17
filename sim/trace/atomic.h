/* nfi trace: files that appear whole or not at all.
 *
 * A reader of a run directory (another nfi process, NumPy, a plotting
 * script, a person after a crash or a full disk) must never see half a
 * file under a final name.  An atomic file is written to a temporary in
 * the target's own directory, so that rename(2) can replace the target
 * in one step; the temporary is synced before the rename and the
 * directory after it, so that after a power loss the target holds either
 * the old or the new content.
 *
 * Temporaries are named ".nfi-tmp-PID-N-NAME" beside the target.  One is
 * left behind only when the process dies between open and commit; such
 * names are recognised by nfi_atomic_is_temporary so that a later run can
 * remove them.
 *
 * Every error message names the file and gives the system's reason
 * (strerror), e.g. "cannot write 'run/metrics.csv': No space left on
 * device". */
#ifndef NFI_TRACE_ATOMIC_H
#define NFI_TRACE_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The prefix of every temporary's name. */
#define NFI_ATOMIC_TEMP_PREFIX ".nfi-tmp-"

typedef struct nfi_atomic_file nfi_atomic_file;

/* Writes the n bytes of buf to the descriptor fd, going on after partial
 * writes and interrupted calls.  path names the file in the message.
 * Returns 0 when all n bytes were written; on failure (ENOSPC from a full
 * disk, EFBIG, EIO, a descriptor that writes nothing) returns -1 with
 * errno kept at the system's error and err saying "cannot write 'PATH':
 * REASON"; some of the bytes may have been written. */
int nfi_write_all(int fd, const void *buf, size_t n, const char *path,
                  nfi_error *err);

/* Starts writing path atomically: creates a new temporary file beside
 * it (O_EXCL, a name no other process or call uses, mode 0666 less the
 * umask).  The target is not touched until nfi_atomic_commit.  Returns
 * NULL with err naming path and the system's reason when path is empty,
 * ends in '/', or its directory does not exist or cannot be written, or
 * when memory runs out. */
nfi_atomic_file *nfi_atomic_open(const char *path, nfi_error *err);

/* Appends n bytes (buffered).  Returns 0, or -1 with err set when a write
 * fails (see nfi_write_all) or an earlier one did.  After a failure the
 * file can only be aborted, and commit reports that first failure, so a
 * caller may check only the result of commit. */
int nfi_atomic_write(nfi_atomic_file *f, const void *data, size_t n,
                     nfi_error *err);

/* Appends printf-style text, with the same results as nfi_atomic_write.
 * Numbers are formatted in the calling program's locale. */
int nfi_atomic_printf(nfi_atomic_file *f, nfi_error *err, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Hands the buffered bytes to the operating system (no sync); returns 0
 * or -1 as nfi_atomic_write. */
int nfi_atomic_flush(nfi_atomic_file *f, nfi_error *err);

/* The descriptor of the temporary, for calls that need one (fstat,
 * fchmod).  Bytes written to it directly land after those already
 * flushed: call nfi_atomic_flush first. */
int nfi_atomic_fd(const nfi_atomic_file *f);

/* The target and the temporary's path. */
const char *nfi_atomic_target(const nfi_atomic_file *f);
const char *nfi_atomic_temp_path(const nfi_atomic_file *f);

/* Ends the file and frees f, in every case.  Writes what is buffered,
 * fsyncs and closes the temporary, renames it over the target (which, if
 * it is a symbolic link, is replaced as a link), then fsyncs the
 * directory.  Returns 0 when the target holds exactly the bytes written.
 * On a failure before the rename (including an earlier write failure)
 * returns -1 with err naming the target and the reason, removes the
 * temporary and leaves an existing target as it was.  If only the final
 * directory sync fails, the target has already been replaced: returns -1
 * with a message saying so (the new content may not survive a power
 * loss).  A file system that cannot sync directories (EINVAL) is not an
 * error. */
int nfi_atomic_commit(nfi_atomic_file *f, nfi_error *err);

/* Drops everything written: closes and removes the temporary and frees
 * f.  The target is left as it was.  f may be NULL. */
void nfi_atomic_abort(nfi_atomic_file *f);

/* Replaces path with the n bytes of data atomically (open, write,
 * commit).  Returns 0, or -1 with err as nfi_atomic_open and
 * nfi_atomic_commit describe; then an existing file is left as it was. */
int nfi_atomic_write_file(const char *path, const void *data, size_t n,
                          nfi_error *err);

/* Fsyncs the directory dir, so that files created, renamed or removed in
 * it stay so after a power loss.  Returns 0 (also when the file system
 * cannot sync directories, EINVAL), or -1 with err naming dir. */
int nfi_sync_dir(const char *dir, nfi_error *err);

/* Reads the whole file at path into a malloc'ed buffer with a NUL after
 * the last byte (the length excludes it) and sets *len.  Returns NULL
 * with an error naming the path and the system's reason (or "out of
 * memory"). */
char *nfi_read_file(const char *path, size_t *len, nfi_error *err);

/* Whether name (a file name without directory) is that of a temporary
 * made by nfi_atomic_open. */
bool nfi_atomic_is_temporary(const char *name);

#endif
