/* Atomic files (sim/trace/atomic.h): a committed file holds exactly what
 * was written and replaces the old one; an abort, a failed write or a
 * failed rename leaves the old file as it was and no temporary behind;
 * a full device (/dev/full) and a file-size limit give messages that
 * name the file and the system's reason.
 *
 * Why: every file of a run directory is written through this layer.  A
 * config.json cut in half by a full disk would make a run impossible to
 * reproduce, and a crash must never leave a half-written snapshot under
 * its final name. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "trace/atomic.h"
#include "trace_util.h"

static char *dir;

/* The directory holds exactly `entries` entries and no temporary. */
static void check_clean(size_t entries, const char *when)
{
    size_t temps;
    size_t count = dir_count(dir, &temps);
    check_true(count == entries && temps == 0, "%s: the directory holds %zu "
               "entries (%zu temporaries), expected %zu and none", when,
               count, temps, entries);
}

static bool contains(const char *message, const char *needle)
{
    return strstr(message, needle) != NULL;
}

static void check_create_and_replace(void)
{
    const char *target = path_in(dir, "a.txt");
    nfi_error err = {""};
    check_true(nfi_atomic_write_file(target, "first\n", 6, &err) == 0,
               "one-shot write of a new file: %s", err.message);
    check_true(file_equals(target, "first\n", 6), "new file content");
    check_true(nfi_atomic_write_file(target, "second, longer\n", 15, &err)
               == 0, "one-shot replace: %s", err.message);
    check_true(file_equals(target, "second, longer\n", 15),
               "replaced content");
    check_true(nfi_atomic_write_file(target, "", 0, &err) == 0,
               "empty file: %s", err.message);
    check_true(file_equals(target, "", 0), "empty file content");
    check_clean(1, "after replacing");

    /* The mode is that of a new file: 0666 less the umask. */
    mode_t old_mask = umask(027);
    const char *masked = path_in(dir, "masked.txt");
    nfi_atomic_write_file(masked, "x", 1, &err);
    struct stat st;
    check_true(stat(masked, &st) == 0 && (st.st_mode & 0777) == 0640,
               "mode under umask 027: %o, expected 640",
               (unsigned)(st.st_mode & 0777));
    umask(old_mask);
    unlink(masked);
}

/* Streaming: bytes, printf text smaller and larger than the buffer, a
 * write larger than the buffer; the target keeps the old content until
 * the commit. */
static void check_streaming(void)
{
    const char *target = path_in(dir, "stream.txt");
    file_write(target, "old", 3);
    nfi_error err = {""};
    nfi_atomic_file *f = nfi_atomic_open(target, &err);
    if (!check_true(f != NULL, "open: %s", err.message))
        return;

    const char *temp = nfi_atomic_temp_path(f);
    const char *slash = strrchr(temp, '/');
    check_true(slash != NULL && (size_t)(slash - temp) == strlen(dir) &&
               strncmp(temp, dir, strlen(dir)) == 0 &&
               nfi_atomic_is_temporary(slash + 1), "the temporary '%s' is "
               "beside the target with the temporary prefix", temp);
    check_true(strcmp(nfi_atomic_target(f), target) == 0, "target name");

    size_t cap = 600000, len = 0;
    char *expected = malloc(cap);
    test_rng rng;
    rng_init(&rng, harness_seed(), 1);
    for (int i = 0; i < 3000; i++) {
        int kind = (int)rng_below(&rng, 4);
        if (kind == 0) {
            char bytes[50];
            size_t n = rng_below(&rng, sizeof bytes);
            for (size_t k = 0; k < n; k++)
                bytes[k] = (char)rng_next(&rng);
            nfi_atomic_write(f, bytes, n, NULL);
            memcpy(expected + len, bytes, n);
            len += n;
        } else if (kind == 1) {
            double x = rng_unit(&rng);
            nfi_atomic_printf(f, NULL, "%d:%.17g,", i, x);
            len += (size_t)snprintf(expected + len, cap - len, "%d:%.17g,",
                                    i, x);
        } else if (kind == 2 && i % 500 == 0) {
            /* Larger than the 64 KiB buffer, through printf. */
            char *big = malloc(70001);
            memset(big, 'p', 70000);
            big[70000] = '\0';
            nfi_atomic_printf(f, NULL, "<%s>", big);
            len += (size_t)snprintf(expected + len, cap - len, "<%s>", big);
            free(big);
        } else if (kind == 3 && i % 700 == 0) {
            char *big = malloc(100000);
            for (size_t k = 0; k < 100000; k++)
                big[k] = (char)('a' + k % 26);
            nfi_atomic_write(f, big, 100000, NULL);
            memcpy(expected + len, big, 100000);
            len += 100000;
            free(big);
        }
    }
    check_true(file_equals(target, "old", 3), "the target is untouched "
               "before the commit");
    check_true(path_exists(temp), "the temporary exists before the commit");
    check_true(nfi_atomic_commit(f, &err) == 0, "commit: %s", err.message);
    check_true(file_equals(target, expected, len), "streamed content of "
               "%zu bytes", len);
    free(expected);
    check_clean(2, "after the streaming commit");
}

static void check_abort(void)
{
    const char *target = path_in(dir, "abort.txt");
    file_write(target, "keep me", 7);
    nfi_error err = {""};
    nfi_atomic_file *f = nfi_atomic_open(target, &err);
    nfi_atomic_printf(f, &err, "%s", "replacement text");
    nfi_atomic_flush(f, &err);
    nfi_atomic_abort(f);
    check_true(file_equals(target, "keep me", 7), "abort keeps the old "
               "content");
    nfi_atomic_abort(NULL);

    /* An abort of a new file leaves nothing. */
    const char *fresh = path_in(dir, "never.txt");
    f = nfi_atomic_open(fresh, &err);
    nfi_atomic_write(f, "x", 1, &err);
    nfi_atomic_abort(f);
    check_true(!path_exists(fresh), "abort of a new file creates nothing");
    check_clean(3, "after the aborts");
    unlink(target);
}

/* Two writers of one target at once get different temporaries; the last
 * commit wins and nothing is left over. */
static void check_concurrent(void)
{
    const char *target = path_in(dir, "both.txt");
    nfi_error err = {""};
    nfi_atomic_file *a = nfi_atomic_open(target, &err);
    nfi_atomic_file *b = nfi_atomic_open(target, &err);
    if (!check_true(a != NULL && b != NULL, "two opens: %s", err.message))
        return;
    check_true(strcmp(nfi_atomic_temp_path(a), nfi_atomic_temp_path(b))
               != 0, "two writers share the temporary %s",
               nfi_atomic_temp_path(a));
    nfi_atomic_write(a, "from a", 6, NULL);
    nfi_atomic_write(b, "from b", 6, NULL);
    check_true(nfi_atomic_commit(a, &err) == 0, "commit a: %s",
               err.message);
    check_true(nfi_atomic_commit(b, &err) == 0, "commit b: %s",
               err.message);
    check_true(file_equals(target, "from b", 6), "the last commit wins");
    check_clean(3, "after two writers");
    unlink(target);
}

/* The low-level write path on a full device. */
static void check_write_all_full(void)
{
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (!check_true(fd >= 0, "/dev/full cannot be opened: %s",
                    strerror(errno)))
        return;
    char block[1000];
    memset(block, 'z', sizeof block);
    nfi_error err = {""};
    errno = 0;
    int status = nfi_write_all(fd, block, sizeof block, "/dev/full", &err);
    int saved = errno;
    close(fd);
    check_true(status == -1 && saved == ENOSPC, "nfi_write_all on /dev/full: "
               "status %d errno %d", status, saved);
    check_true(contains(err.message, "'/dev/full'") &&
               contains(err.message, strerror(ENOSPC)), "message of a full "
               "device: \"%s\"", err.message);
    /* Nothing to write succeeds even there. */
    fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    check_true(nfi_write_all(fd, block, 0, "/dev/full", &err) == 0,
               "an empty write to /dev/full");
    close(fd);
}

/* The writer's temporary replaced by /dev/full: the disk is full.
 * big: whether the failure comes during the writes (more than the
 * buffer) or only at the commit. */
static void check_writer_full(bool big)
{
    const char *target = path_in(dir, "config.json");
    file_write(target, "{\"old\": true}\n", 14);
    nfi_error err = {""};
    nfi_atomic_file *f = nfi_atomic_open(target, &err);
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (!check_true(f != NULL && full >= 0, "set-up of the full device"))
        return;
    dup2(full, nfi_atomic_fd(f));
    close(full);

    size_t n = big ? 200000 : 100;
    char *data = malloc(n);
    memset(data, 'n', n);
    int status = nfi_atomic_write(f, data, n, &err);
    if (big) {
        check_true(status == -1 && contains(err.message, target) &&
                   contains(err.message, strerror(ENOSPC)), "a large write "
                   "to a full device: status %d \"%s\"", status,
                   err.message);
        nfi_error later = {""};
        check_true(nfi_atomic_write(f, "x", 1, &later) == -1 &&
                   strcmp(later.message, err.message) == 0, "a write after "
                   "a failure repeats it: \"%s\"", later.message);
    } else {
        check_true(status == 0, "a buffered write does not reach the "
                   "device yet");
    }
    free(data);

    nfi_error commit_err = {""};
    check_true(nfi_atomic_commit(f, &commit_err) == -1, "commit on a full "
               "device must fail");
    check_true(contains(commit_err.message, target) &&
               contains(commit_err.message, strerror(ENOSPC)),
               "commit message on a full device: \"%s\"",
               commit_err.message);
    check_true(file_equals(target, "{\"old\": true}\n", 14), "the old file "
               "survives a full device");
    check_clean(3, "after a full device");
}

/* A real file that may not grow (RLIMIT_FSIZE): the write fails with
 * EFBIG on the temporary itself, which must be removed. */
static void check_file_size_limit(void)
{
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return;
    const char *target = path_in(dir, "limited.bin");
    file_write(target, "previous", 8);
    struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
    sigaction(SIGXFSZ, &ignore, &previous);
    struct rlimit small = {10000, old.rlim_max};
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < small.rlim_cur)
        small.rlim_cur = old.rlim_cur;
    setrlimit(RLIMIT_FSIZE, &small);

    char *data = calloc(1, 300000);
    nfi_error err = {""};
    int status = nfi_atomic_write_file(target, data, 300000, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &previous, NULL);
    free(data);

    check_true(status == -1 && contains(err.message, target) &&
               contains(err.message, strerror(EFBIG)), "a write beyond "
               "the file-size limit: status %d \"%s\"", status, err.message);
    check_true(file_equals(target, "previous", 8), "the old file survives "
               "the file-size limit");
    check_clean(4, "after the file-size limit");
}

static void check_open_errors(void)
{
    nfi_error err = {""};
    const char *missing = path_in(dir, "no/such/dir/file.txt");
    check_true(nfi_atomic_open(missing, &err) == NULL &&
               contains(err.message, missing) &&
               contains(err.message, strerror(ENOENT)), "open in a missing "
               "directory: \"%s\"", err.message);
    check_true(nfi_atomic_open("", &err) == NULL &&
               contains(err.message, "empty"), "empty path: \"%s\"",
               err.message);
    check_true(nfi_atomic_open(NULL, NULL) == NULL, "NULL path");
    const char *slash = path_in(dir, "sub/");
    check_true(nfi_atomic_open(slash, &err) == NULL &&
               contains(err.message, slash), "path ending in '/': \"%s\"",
               err.message);
    check_true(nfi_atomic_write_file(missing, "x", 1, &err) == -1 &&
               contains(err.message, missing), "one-shot write in a missing "
               "directory: \"%s\"", err.message);

    /* A directory where the file should go: the rename fails, the
     * directory stays, the temporary goes. */
    const char *sub = path_in(dir, "a_directory");
    mkdir(sub, 0700);
    check_true(nfi_atomic_write_file(sub, "x", 1, &err) == -1 &&
               contains(err.message, sub) &&
               contains(err.message, strerror(EISDIR)), "a directory as "
               "target: \"%s\"", err.message);
    struct stat st;
    check_true(stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "the directory "
               "survives");
    check_clean(5, "after a directory as target");
    rmdir(sub);

    /* A directory the process may not write (not testable as root, who
     * may write anywhere). */
    if (geteuid() != 0) {
        const char *locked = path_in(dir, "read_only");
        mkdir(locked, 0500);
        const char *inside = path_in(locked, "f.txt");
        check_true(nfi_atomic_write_file(inside, "x", 1, &err) == -1 &&
                   contains(err.message, inside) &&
                   contains(err.message, strerror(EACCES)), "read-only "
                   "directory: \"%s\"", err.message);
        rmdir(locked);
    }

    check_true(nfi_sync_dir(path_in(dir, "none"), &err) == -1 &&
               contains(err.message, "none"), "sync of a missing directory: "
               "\"%s\"", err.message);
    check_true(nfi_sync_dir(dir, &err) == 0, "sync of the test directory");
}

static void check_temporary_names(void)
{
    check_true(nfi_atomic_is_temporary(".nfi-tmp-12-0-config.json"),
               "a temporary name");
    check_true(!nfi_atomic_is_temporary("config.json") &&
               !nfi_atomic_is_temporary(".nfi") &&
               !nfi_atomic_is_temporary("x.nfi-tmp-1"), "not temporaries");

    /* A very long target name still gives a temporary within NAME_MAX. */
    char name[256];
    memset(name, 'L', 250);
    name[250] = '\0';
    const char *target = path_in(dir, name);
    nfi_error err = {""};
    check_true(nfi_atomic_write_file(target, "long", 4, &err) == 0,
               "a 250-byte file name: %s", err.message);
    unlink(target);
}

int main(void)
{
    harness_init("test_atomic", 1);
    dir = temp_dir_make("atomic");
    check_create_and_replace();
    check_streaming();
    check_abort();
    check_concurrent();
    check_write_all_full();
    check_writer_full(true);
    check_writer_full(false);
    check_file_size_limit();
    check_open_errors();
    check_temporary_names();
    temp_dir_remove(dir);
    return harness_finish();
}
