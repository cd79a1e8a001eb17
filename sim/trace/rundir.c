#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"

struct nfi_rundir {
    char *path;
    int fd;                 /* the directory, holding the flock */
    nfi_run_status status;
};

static const char *const status_names[] = {
    [NFI_RUN_RUNNING] = "running",
    [NFI_RUN_INTERRUPTED] = "interrupted",
    [NFI_RUN_COMPLETE] = "complete",
    [NFI_RUN_FAILED] = "failed",
};

#define STATUS_COUNT 4

const char *nfi_run_status_name(nfi_run_status s)
{
    return (unsigned)s < STATUS_COUNT ? status_names[s] : NULL;
}

int nfi_run_status_parse(const char *name, nfi_run_status *s,
                         nfi_error *err)
{
    for (int i = 0; i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *s = (nfi_run_status)i;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown run state \"%.40s\"; expected "
                         "running, interrupted, complete or failed", name);
}

/* Joins dir and name with one '/' into a malloc'ed string. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    bool slash = n > 0 && dir[n - 1] == '/';
    char *path = malloc(n + strlen(name) + 2);
    if (path != NULL)
        sprintf(path, "%s%s%s", dir, slash ? "" : "/", name);
    return path;
}

int nfi_status_read(const char *dir, nfi_run_status *s, char *reason,
                    size_t cap, nfi_error *err)
{
    char *path = join(dir, NFI_RUNDIR_STATUS);
    if (path == NULL)
        return nfi_error_set(err, "cannot read the status of '%s': out of "
                             "memory", dir);
    char text[NFI_STATUS_REASON_MAX + 64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        do
            n = read(fd, text, sizeof text - 1);
        while (n < 0 && errno == EINTR);
        int saved = errno;
        close(fd);
        errno = saved;
    }
    if (n < 0) {
        nfi_error_set(err, "cannot read '%s': %s", path, strerror(errno));
        free(path);
        return -1;
    }
    text[n] = '\0';

    char *nl = strchr(text, '\n');
    if (nl != NULL)
        *nl = '\0';
    nfi_run_status state;
    if (nl == NULL || nfi_run_status_parse(text, &state, NULL) != 0) {
        nfi_error_set(err, "'%s' does not start with a run state line "
                      "(running, interrupted, complete or failed)", path);
        free(path);
        return -1;
    }
    free(path);
    *s = state;
    if (reason != NULL && cap > 0) {
        char *line = nl + 1;
        line[strcspn(line, "\n")] = '\0';
        snprintf(reason, cap, "%s", line);
    }
    return 0;
}

/* Opens the directory path and takes its lock; -1 with err otherwise. */
static int lock_dir(const char *path, nfi_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return nfi_error_set(err, "cannot open the run directory '%s': %s",
                             path, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        int saved = errno;
        close(fd);
        if (saved == EWOULDBLOCK)
            return nfi_error_set(err, "the run directory '%s' is in use by "
                                 "another nfi run (it holds the lock); "
                                 "wait for it to end or choose another "
                                 "directory", path);
        return nfi_error_set(err, "cannot lock the run directory '%s': %s",
                             path, strerror(saved));
    }
    return fd;
}

/* mkdir -p; *created says whether the last component was made. */
static int make_dirs(const char *path, bool *created, nfi_error *err)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return nfi_error_set(err, "cannot create '%s': out of memory", path);
    *created = false;
    size_t len = strlen(copy);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && copy[i] != '/')
            continue;
        if (copy[i - 1] == '/')
            continue;
        char saved = copy[i];
        copy[i] = '\0';
        if (mkdir(copy, 0777) == 0) {
            *created = true;
        } else {
            struct stat st;
            int why = errno;
            if (why != EEXIST || stat(copy, &st) != 0 ||
                !S_ISDIR(st.st_mode)) {
                if (why == EEXIST)
                    nfi_error_set(err, "cannot create the run directory "
                                  "'%s': '%s' exists and is not a "
                                  "directory", path, copy);
                else
                    nfi_error_set(err, "cannot create the run directory "
                                  "'%s': creating '%s' failed: %s", path,
                                  copy, strerror(why));
                free(copy);
                return -1;
            }
            *created = false;
        }
        copy[i] = saved;
    }
    free(copy);
    return 0;
}

/* The first entry of the directory fd other than . and .., copied into
 * name; 1 if there is one, 0 if the directory is empty, -1 on error. */
static int first_entry(int fd, char *name, size_t cap)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (d == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    rewinddir(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(name, cap, "%s", e->d_name);
            found = 1;
            break;
        }
    }
    closedir(d);
    return found;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_step_folder(const char *name)
{
    return strncmp(name, "step_", 5) == 0 && name[5] != '\0' &&
           strspn(name + 5, "0123456789") == strlen(name + 5);
}

/* Removes the entry name of directory dfd unless it is a directory;
 * ENOENT is not an error. */
static int remove_file(int dfd, const char *shown_dir, const char *name,
                       nfi_error *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : nfi_error_set(err, "cannot examine "
                                                   "'%s/%s': %s", shown_dir,
                                                   name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nfi_error_set(err, "'%s/%s' is a directory where nfi writes "
                             "a file; move it away", shown_dir, name);
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        return nfi_error_set(err, "cannot remove '%s/%s' of the earlier "
                             "run: %s", shown_dir, name, strerror(errno));
    return 0;
}

/* Removes, in the directory dfd, the temporaries of atomic writes and the
 * files for which wanted(name) is true; with step_folders, also descends
 * into the step_N folders and removes those left empty. */
static int clean_dir(int dfd, const char *shown, bool step_folders,
                     bool (*wanted)(const char *), nfi_error *err)
{
    int list_fd = dup(dfd);
    DIR *d = list_fd >= 0 ? fdopendir(list_fd) : NULL;
    if (d == NULL) {
        if (list_fd >= 0)
            close(list_fd);
        return nfi_error_set(err, "cannot list '%s': %s", shown,
                             strerror(errno));
    }
    rewinddir(d);
    int status = 0;
    struct dirent *e;
    while (status == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (step_folders && is_step_folder(name)) {
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                             O_CLOEXEC);
            if (sub < 0)
                continue; /* not a real folder: not nfi's */
            char *sub_shown = join(shown, name);
            if (sub_shown == NULL) {
                close(sub);
                status = nfi_error_set(err, "out of memory");
                break;
            }
            status = clean_dir(sub, sub_shown, false, wanted, err);
            close(sub);
            free(sub_shown);
            /* A folder holding files nfi did not write stays. */
            if (status == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0 &&
                errno != ENOTEMPTY && errno != EEXIST)
                status = nfi_error_set(err, "cannot remove '%s/%s': %s",
                                       shown, name, strerror(errno));
        } else if (nfi_atomic_is_temporary(name) || wanted(name)) {
            status = remove_file(dfd, shown, name, err);
        }
    }
    closedir(d);
    return status;
}

static bool top_level_file(const char *name)
{
    return strcmp(name, NFI_RUNDIR_CONFIG) == 0 ||
           strcmp(name, NFI_RUNDIR_METRICS) == 0 ||
           strcmp(name, NFI_RUNDIR_SUMMARY) == 0 ||
           strcmp(name, NFI_RUNDIR_TRAIN_LABELS) == 0 ||
           strcmp(name, NFI_RUNDIR_VERIFY_JSON) == 0 ||
           strcmp(name, NFI_RUNDIR_VERIFY_MD) == 0;
}

static bool snapshot_file(const char *name)
{
    return name[0] != '.' && (ends_with(name, ".npy") ||
                              ends_with(name, ".json"));
}

/* Deletes the files of an earlier run (all but status). */
static int remove_earlier_run(nfi_rundir *rd, nfi_error *err)
{
    if (clean_dir(rd->fd, rd->path, false, top_level_file, err) != 0)
        return -1;
    int snaps = openat(rd->fd, NFI_RUNDIR_SNAPSHOTS, O_RDONLY | O_DIRECTORY |
                       O_NOFOLLOW | O_CLOEXEC);
    if (snaps < 0)
        return 0; /* absent, or not a real folder: nothing of nfi's */
    char *shown = join(rd->path, NFI_RUNDIR_SNAPSHOTS);
    int status = shown == NULL ? nfi_error_set(err, "out of memory")
               : clean_dir(snaps, shown, true, snapshot_file, err);
    close(snaps);
    free(shown);
    return status;
}

/* Writes the status file, whatever the current state. */
static int write_status(nfi_rundir *rd, nfi_run_status s,
                        const char *reason, nfi_error *err)
{
    char text[NFI_STATUS_REASON_MAX + 32];
    size_t len = (size_t)snprintf(text, sizeof text, "%s\n", status_names[s]);
    if (reason != NULL) {
        size_t n = strlen(reason);
        if (n > NFI_STATUS_REASON_MAX) {
            /* Cut before a UTF-8 continuation byte, never inside a
             * character. */
            n = NFI_STATUS_REASON_MAX;
            while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
                n--;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)reason[i];
            text[len++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    text[len++] = '\n';

    char *path = join(rd->path, NFI_RUNDIR_STATUS);
    if (path == NULL)
        return nfi_error_set(err, "cannot write the status of '%s': out of "
                             "memory", rd->path);
    int status = nfi_atomic_write_file(path, text, len, err);
    free(path);
    if (status == 0)
        rd->status = s;
    return status;
}

static nfi_rundir *new_handle(const char *path, int fd, nfi_error *err)
{
    nfi_rundir *rd = calloc(1, sizeof *rd);
    if (rd == NULL || (rd->path = strdup(path)) == NULL) {
        free(rd);
        close(fd);
        nfi_error_set(err, "cannot open the run directory '%s': out of "
                      "memory", path);
        return NULL;
    }
    rd->fd = fd;
    return rd;
}

nfi_rundir *nfi_rundir_create(const char *path, bool force, nfi_error *err)
{
    if (path == NULL || path[0] == '\0') {
        nfi_error_set(err, "the run directory has an empty name; give a "
                      "path such as runs/first");
        return NULL;
    }
    bool created = false;
    if (make_dirs(path, &created, err) != 0)
        return NULL;
    int fd = lock_dir(path, err);
    if (fd < 0)
        return NULL;
    nfi_rundir *rd = new_handle(path, fd, err);
    if (rd == NULL)
        return NULL;

    /* Looked at only under the lock, so that two runs started on one
     * directory cannot both find it empty. */
    char entry[256];
    int occupied = first_entry(fd, entry, sizeof entry);
    if (occupied < 0) {
        nfi_error_set(err, "cannot list the run directory '%s': %s", path,
                      strerror(errno));
        goto fail;
    }
    if (occupied && !force) {
        nfi_error_set(err, "the run directory '%s' is not empty (it holds "
                      "'%s'); choose a new or empty directory, or replace "
                      "the earlier run with force", path, entry);
        goto fail;
    }
    if (occupied) {
        nfi_run_status old;
        nfi_error why;
        if (nfi_status_read(path, &old, NULL, 0, &why) != 0) {
            nfi_error_set(err, "'%s' is not empty and is not an nfi run "
                          "directory (%s); force replaces only earlier "
                          "runs: choose a new or empty directory", path,
                          why.message);
            goto fail;
        }
        if (remove_earlier_run(rd, err) != 0)
            goto fail;
    }

    if (write_status(rd, NFI_RUN_RUNNING, occupied ? "started, replacing "
                     "an earlier run" : "started", err) != 0)
        goto fail;
    if (mkdirat(fd, NFI_RUNDIR_SNAPSHOTS, 0777) != 0 && errno != EEXIST) {
        nfi_error why;
        nfi_error_set(&why, "cannot create '%s/" NFI_RUNDIR_SNAPSHOTS "': "
                      "%s", path, strerror(errno));
        write_status(rd, NFI_RUN_FAILED, why.message, NULL);
        if (err != NULL)
            *err = why;
        goto fail;
    }
    if (nfi_sync_dir(path, err) != 0)
        goto fail;
    if (created) {
        /* The new directory's own entry lives in its parent. */
        char *parent = join(path, "..");
        int status = parent != NULL ? nfi_sync_dir(parent, err) : 0;
        free(parent);
        if (status != 0)
            goto fail;
    }
    return rd;

fail:
    nfi_rundir_close(rd);
    return NULL;
}

nfi_rundir *nfi_rundir_open(const char *path, nfi_error *err)
{
    if (path == NULL || path[0] == '\0') {
        nfi_error_set(err, "the run directory has an empty name; give the "
                      "path of an earlier run");
        return NULL;
    }
    int fd = lock_dir(path, err);
    if (fd < 0)
        return NULL;
    nfi_rundir *rd = new_handle(path, fd, err);
    if (rd == NULL)
        return NULL;
    nfi_error why;
    if (nfi_status_read(path, &rd->status, NULL, 0, &why) != 0) {
        nfi_error_set(err, "'%s' is not an nfi run directory: %s", path,
                      why.message);
        nfi_rundir_close(rd);
        return NULL;
    }
    return rd;
}

void nfi_rundir_close(nfi_rundir *rd)
{
    if (rd == NULL)
        return;
    close(rd->fd); /* releases the flock */
    free(rd->path);
    free(rd);
}

const char *nfi_rundir_path(const nfi_rundir *rd)
{
    return rd->path;
}

nfi_run_status nfi_rundir_status(const nfi_rundir *rd)
{
    return rd->status;
}

int nfi_rundir_set_status(nfi_rundir *rd, nfi_run_status s,
                          const char *reason, nfi_error *err)
{
    if ((unsigned)s >= STATUS_COUNT)
        return nfi_error_set(err, "unknown run state %d; expected running, "
                             "interrupted, complete or failed", (int)s);
    if (rd->status != NFI_RUN_RUNNING && s != NFI_RUN_RUNNING)
        return nfi_error_set(err, "the run in '%s' is %s and cannot become "
                             "%s; only a resumed run (running) may follow",
                             rd->path, status_names[rd->status],
                             status_names[s]);
    return write_status(rd, s, reason, err);
}

int nfi_rundir_file(const nfi_rundir *rd, const char *name, char *buf,
                    size_t cap, nfi_error *err)
{
    if (name == NULL || name[0] == '\0' || name[0] == '/')
        return nfi_error_set(err, "\"%s\" is not a file name inside the "
                             "run directory '%s'; give a relative name "
                             "such as " NFI_RUNDIR_METRICS,
                             name != NULL ? name : "(null)", rd->path);
    for (const char *p = name; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return nfi_error_set(err, "\"%s\" climbs out of the run "
                                 "directory '%s'; give a name inside it",
                                 name, rd->path);
        p += n;
        if (*p == '/')
            p++;
    }
    size_t n = strlen(rd->path);
    bool slash = rd->path[n - 1] == '/';
    int len = snprintf(buf, cap, "%s%s%s", rd->path, slash ? "" : "/", name);
    if (len < 0 || (size_t)len >= cap)
        return nfi_error_set(err, "the path of \"%s\" in '%s' needs %d "
                             "bytes, the buffer has %zu", name, rd->path,
                             len + 1, cap);
    return 0;
}

int nfi_rundir_snapshot_file(const nfi_rundir *rd, int64_t step,
                             const char *name, char *buf, size_t cap,
                             nfi_error *err)
{
    if (step < 0)
        return nfi_error_set(err, "a snapshot at step %" PRId64 " in '%s'; "
                             "steps are 0 or more", step, rd->path);
    if (name == NULL || name[0] == '\0' || name[0] == '.' ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789_-.") != strlen(name))
        return nfi_error_set(err, "\"%s\" is not a snapshot file name; use "
                             "letters, digits, '_', '-' and '.', not first",
                             name != NULL ? name : "(null)");
    char folder[64];
    snprintf(folder, sizeof folder, NFI_RUNDIR_SNAPSHOTS "/step_%08" PRId64,
             step);
    char relative[400];
    if (snprintf(relative, sizeof relative, "%s/%s", folder, name) >=
        (int)sizeof relative)
        return nfi_error_set(err, "the snapshot name \"%.40s...\" is too "
                             "long", name);
    if (nfi_rundir_file(rd, relative, buf, cap, err) != 0)
        return -1;

    if (mkdirat(rd->fd, folder, 0777) == 0) {
        char *snaps = join(rd->path, NFI_RUNDIR_SNAPSHOTS);
        int status = snaps != NULL ? nfi_sync_dir(snaps, err)
                   : nfi_error_set(err, "out of memory");
        free(snaps);
        return status;
    }
    if (errno != EEXIST)
        return nfi_error_set(err, "cannot create '%s/%s': %s", rd->path,
                             folder, strerror(errno));
    return 0;
}
