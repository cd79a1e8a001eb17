#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most files of a run are far smaller; metrics rows and JSON tokens are
 * tiny, so a buffer saves one system call per token. */
#define ATOMIC_BUFFER 65536

/* Attempts at a fresh temporary name before giving up: a clash needs
 * another process with the same PID in the same directory. */
#define TEMP_ATTEMPTS 100

/* Bytes of the target's name kept in the temporary's, so that the
 * temporary's name stays within NAME_MAX (255) on every file system. */
#define TEMP_NAME_KEEP 200

struct nfi_atomic_file {
    int fd;
    bool failed;          /* a write failed; only abort remains */
    nfi_error first;      /* that failure, repeated by commit */
    size_t used;          /* bytes in buf */
    char *target;
    char *temp;
    char *dir;            /* directory of both, for the final sync */
    unsigned char buf[ATOMIC_BUFFER];
};

static int errno_error(nfi_error *err, int saved, const char *fmt,
                       const char *path)
{
    char what[NFI_ERROR_MAX];
    snprintf(what, sizeof what, fmt, path);
    nfi_error_set(err, "%s: %s", what, strerror(saved));
    errno = saved;
    return -1;
}

int nfi_write_all(int fd, const void *buf, size_t n, const char *path,
                  nfi_error *err)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return errno_error(err, errno, "cannot write '%s'", path);
        /* write(2) returning 0 for a non-empty request means the device
         * takes nothing more; call it a full device. */
        if (done == 0)
            return errno_error(err, ENOSPC, "cannot write '%s'", path);
        p += done;
        n -= (size_t)done;
    }
    return 0;
}

static char *copy_string(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static void free_file(nfi_atomic_file *f)
{
    free(f->target);
    free(f->temp);
    free(f->dir);
    free(f);
}

nfi_atomic_file *nfi_atomic_open(const char *path, nfi_error *err)
{
    static atomic_uint_fast64_t counter;

    if (path == NULL || path[0] == '\0') {
        nfi_error_set(err, "cannot write a file with an empty name: give "
                      "a file path");
        return NULL;
    }
    size_t len = strlen(path);
    if (path[len - 1] == '/') {
        nfi_error_set(err, "cannot write '%s': the name ends in '/'; give "
                      "a file path, not a directory", path);
        return NULL;
    }

    nfi_atomic_file *f = calloc(1, sizeof *f);
    if (f == NULL) {
        nfi_error_set(err, "cannot write '%s': out of memory", path);
        return NULL;
    }
    f->fd = -1;
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t dir_len = (size_t)(base - path);
    f->target = copy_string(path, len);
    f->dir = slash == NULL ? copy_string(".", 1)
             : copy_string(path, dir_len > 1 ? dir_len - 1 : 1);
    size_t base_len = strlen(base);
    if (base_len > TEMP_NAME_KEEP)
        base_len = TEMP_NAME_KEEP;
    size_t temp_cap = dir_len + sizeof NFI_ATOMIC_TEMP_PREFIX + 48 + base_len;
    f->temp = malloc(temp_cap);
    if (f->target == NULL || f->dir == NULL || f->temp == NULL) {
        free_file(f);
        nfi_error_set(err, "cannot write '%s': out of memory", path);
        return NULL;
    }

    for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
        uint64_t n = atomic_fetch_add(&counter, 1);
        snprintf(f->temp, temp_cap, "%.*s" NFI_ATOMIC_TEMP_PREFIX
                 "%ld-%llu-%.*s", (int)dir_len, path, (long)getpid(),
                 (unsigned long long)n, (int)base_len, base);
        f->fd = open(f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                     0666);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        int saved = errno;
        errno_error(err, saved, "cannot create a temporary file beside "
                    "'%s'", path);
        free_file(f);
        errno = saved;
        return NULL;
    }
    return f;
}

/* Marks f as failed, keeping the first message for commit. */
static int fail(nfi_atomic_file *f, const nfi_error *why, nfi_error *err)
{
    if (!f->failed) {
        f->failed = true;
        f->first = *why;
    }
    if (err != NULL)
        *err = f->first;
    return -1;
}

static int not_usable(nfi_atomic_file *f, nfi_error *err)
{
    if (f == NULL)
        return nfi_error_set(err, "no atomic file: the open failed");
    return fail(f, &f->first, err);
}

int nfi_atomic_flush(nfi_atomic_file *f, nfi_error *err)
{
    if (f == NULL || f->failed)
        return not_usable(f, err);
    nfi_error why;
    if (nfi_write_all(f->fd, f->buf, f->used, f->target, &why) != 0)
        return fail(f, &why, err);
    f->used = 0;
    return 0;
}

int nfi_atomic_write(nfi_atomic_file *f, const void *data, size_t n,
                     nfi_error *err)
{
    if (f == NULL || f->failed)
        return not_usable(f, err);
    if (n == 0)
        return 0;
    if (n <= sizeof f->buf - f->used) {
        memcpy(f->buf + f->used, data, n);
        f->used += n;
        return 0;
    }
    if (nfi_atomic_flush(f, err) != 0)
        return -1;
    if (n < sizeof f->buf) {
        memcpy(f->buf, data, n);
        f->used = n;
        return 0;
    }
    nfi_error why;
    if (nfi_write_all(f->fd, data, n, f->target, &why) != 0)
        return fail(f, &why, err);
    return 0;
}

int nfi_atomic_printf(nfi_atomic_file *f, nfi_error *err, const char *fmt,
                      ...)
{
    if (f == NULL || f->failed)
        return not_usable(f, err);
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof f->buf - f->used;
    int len = vsnprintf((char *)f->buf + f->used, room, fmt, ap);
    va_end(ap);
    if (len < 0) {
        nfi_error why;
        nfi_error_set(&why, "cannot write '%s': the format '%s' failed",
                      f->target, fmt);
        return fail(f, &why, err);
    }
    if ((size_t)len < room) {
        f->used += (size_t)len;
        return 0;
    }

    /* Did not fit: vsnprintf wrote a truncated copy past f->used, which
     * is not counted and will be overwritten. */
    char *text = malloc((size_t)len + 1);
    if (text == NULL) {
        nfi_error why;
        nfi_error_set(&why, "cannot write '%s': out of memory", f->target);
        return fail(f, &why, err);
    }
    va_start(ap, fmt);
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    va_end(ap);
    int status = nfi_atomic_write(f, text, (size_t)len, err);
    free(text);
    return status;
}

int nfi_atomic_fd(const nfi_atomic_file *f)
{
    return f != NULL ? f->fd : -1;
}

const char *nfi_atomic_target(const nfi_atomic_file *f)
{
    return f->target;
}

const char *nfi_atomic_temp_path(const nfi_atomic_file *f)
{
    return f->temp;
}

void nfi_atomic_abort(nfi_atomic_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->temp);
    free_file(f);
}

int nfi_sync_dir(const char *dir, nfi_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno_error(err, errno, "cannot open directory '%s' to sync "
                           "it", dir);
    int status = 0;
    while (fsync(fd) != 0) {
        if (errno == EINTR)
            continue;
        /* Some file systems do not sync directories; nothing to do. */
        if (errno != EINVAL)
            status = errno_error(err, errno, "cannot sync directory '%s'",
                                 dir);
        break;
    }
    close(fd);
    return status;
}

int nfi_atomic_commit(nfi_atomic_file *f, nfi_error *err)
{
    if (f == NULL)
        return not_usable(f, err);
    if (f->failed || nfi_atomic_flush(f, err) != 0) {
        if (err != NULL)
            *err = f->first;
        nfi_atomic_abort(f);
        return -1;
    }

    int status = 0;
    while (fsync(f->fd) != 0) {
        if (errno == EINTR)
            continue;
        status = errno_error(err, errno, "cannot sync '%s'", f->target);
        break;
    }
    /* Some file systems (NFS) report a failed write-back only here. */
    if (close(f->fd) != 0 && status == 0)
        status = errno_error(err, errno, "cannot close '%s'", f->target);
    f->fd = -1;
    if (status == 0 && rename(f->temp, f->target) != 0)
        status = errno_error(err, errno, "cannot replace '%s'", f->target);
    if (status != 0) {
        nfi_atomic_abort(f);
        return -1;
    }

    nfi_error why;
    if (nfi_sync_dir(f->dir, &why) != 0) {
        nfi_error_set(err, "'%s' was replaced, but the change may not "
                      "survive a power loss: %s", f->target, why.message);
        status = -1;
    }
    free_file(f);
    return status;
}

int nfi_atomic_write_file(const char *path, const void *data, size_t n,
                          nfi_error *err)
{
    nfi_atomic_file *f = nfi_atomic_open(path, err);
    if (f == NULL)
        return -1;
    if (nfi_atomic_write(f, data, n, err) != 0) {
        nfi_atomic_abort(f);
        return -1;
    }
    return nfi_atomic_commit(f, err);
}

bool nfi_atomic_is_temporary(const char *name)
{
    return strncmp(name, NFI_ATOMIC_TEMP_PREFIX,
                   sizeof NFI_ATOMIC_TEMP_PREFIX - 1) == 0;
}

char *nfi_read_file(const char *path, size_t *len, nfi_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        nfi_error_set(err, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *text = malloc(cap + 1);
    while (text != NULL) {
        ssize_t r = read(fd, text + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            nfi_error_set(err, "cannot read '%s': %s", path,
                          strerror(errno));
            free(text);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            char *more = cap < SIZE_MAX / 4 ? realloc(text, 2 * cap + 1)
                                            : NULL;
            if (more == NULL)
                free(text);
            text = more;
            cap *= 2;
        }
    }
    close(fd);
    if (text == NULL) {
        nfi_error_set(err, "cannot read '%s': out of memory", path);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}
