/* nfi train --resume: file work on the run directory.  See
 * train_resume.h. */
#define _POSIX_C_SOURCE 200809L

#include "train_resume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "trace/atomic.h"

int train_snapshot_dir(const nfi_rundir *rd, long step, char *buf,
                       size_t cap, nfi_error *err)
{
    if (nfi_rundir_snapshot_file(rd, step, NFI_CHECKPOINT_STATE, buf, cap,
                                 err) != 0)
        return -1;
    char *slash = strrchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    return 0;
}

/* The step of a folder named step_N, or -1 for any other name. */
static long step_of(const char *name)
{
    if (strncmp(name, "step_", 5) != 0 || name[5] == '\0' ||
        strspn(name + 5, "0123456789") != strlen(name + 5))
        return -1;
    errno = 0;
    long step = strtol(name + 5, NULL, 10);
    return errno == 0 ? step : -1;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Calls visit(dir/snapshots/NAME, N, arg) for every step_N folder;
 * returns -1 with err when snapshots/ cannot be listed or visit fails. */
static int each_step(const char *dir,
                     int (*visit)(const char *, long, void *, nfi_error *),
                     void *arg, nfi_error *err)
{
    char snaps[PATH_MAX];
    if (snprintf(snaps, sizeof snaps, "%s/%s", dir, NFI_RUNDIR_SNAPSHOTS) >=
        (int)sizeof snaps)
        return nfi_error_set(err, "the path '%s' is too long", dir);
    DIR *d = opendir(snaps);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return nfi_error_set(err, "cannot list '%s': %s", snaps,
                             strerror(errno));
    }
    int status = 0;
    struct dirent *e;
    while (status == 0 && (e = readdir(d)) != NULL) {
        long step = step_of(e->d_name);
        char path[PATH_MAX];
        if (step < 0 || snprintf(path, sizeof path, "%s/%s", snaps,
                                 e->d_name) >= (int)sizeof path ||
            !is_dir(path))
            continue;
        status = visit(path, step, arg, err);
    }
    closedir(d);
    return status;
}

typedef struct last_found {
    long step;
    char path[PATH_MAX];
} last_found;

static int note_checkpoint(const char *path, long step, void *arg,
                           nfi_error *err)
{
    last_found *f = arg;
    char state[PATH_MAX];
    struct stat st;
    if (step <= f->step ||
        snprintf(state, sizeof state, "%s/%s", path, NFI_CHECKPOINT_STATE) >=
            (int)sizeof state ||
        stat(state, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    f->step = step;
    snprintf(f->path, sizeof f->path, "%s", path);
    return 0;
}

int train_resume_find(const char *dir, long *step, char *buf, size_t cap,
                      nfi_error *err)
{
    last_found f = {.step = -1};
    if (each_step(dir, note_checkpoint, &f, err) != 0)
        return -1;
    if (f.step < 0)
        return 0;
    if (snprintf(buf, cap, "%s", f.path) >= (int)cap)
        return nfi_error_set(err, "the path '%s' is too long", f.path);
    *step = f.step;
    return 1;
}

/* Removes from the folder path the files for which doomed(name, arg) is
 * true (regular files and links only); then the folder itself when
 * rmdir_empty and nothing is left. */
static int remove_in(const char *path,
                     bool (*doomed)(const char *, const void *),
                     const void *arg, bool rmdir_empty, nfi_error *err)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return nfi_error_set(err, "cannot list '%s': %s", path,
                             strerror(errno));
    int status = 0;
    struct dirent *e;
    while (status == 0 && (e = readdir(d)) != NULL) {
        char file[PATH_MAX];
        if (!doomed(e->d_name, arg) ||
            snprintf(file, sizeof file, "%s/%s", path, e->d_name) >=
                (int)sizeof file)
            continue;
        struct stat st;
        if (lstat(file, &st) != 0 || S_ISDIR(st.st_mode))
            continue;
        if (unlink(file) != 0 && errno != ENOENT)
            status = nfi_error_set(err, "cannot remove '%s': %s", file,
                                   strerror(errno));
    }
    closedir(d);
    if (status != 0)
        return status;
    if (rmdir_empty) {
        if (rmdir(path) == 0) {
            /* The folder's entry lives in its parent. */
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", path);
            char *slash = strrchr(parent, '/');
            if (slash != NULL)
                *slash = '\0';
            return slash != NULL ? nfi_sync_dir(parent, err) : 0;
        }
        if (errno != ENOTEMPTY && errno != EEXIST)
            return nfi_error_set(err, "cannot remove '%s': %s", path,
                                 strerror(errno));
    }
    return nfi_sync_dir(path, err);
}

static bool temporary(const char *name, const void *arg)
{
    (void)arg;
    return nfi_atomic_is_temporary(name);
}

static int clean_step(const char *path, long step, void *arg,
                      nfi_error *err)
{
    (void)step;
    (void)arg;
    return remove_in(path, temporary, NULL, false, err);
}

int train_resume_clean(const char *dir, nfi_error *err)
{
    if (remove_in(dir, temporary, NULL, false, err) != 0)
        return -1;
    return each_step(dir, clean_step, NULL, err);
}

typedef struct prune_rule {
    long snapshot_every, steps;
    const char *const *keep;
} prune_rule;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool snapshot_file(const char *name, const void *arg)
{
    const prune_rule *rule = arg;
    if (nfi_atomic_is_temporary(name))
        return true;
    if (name[0] == '.' || !(ends_with(name, ".npy") ||
                            ends_with(name, ".json")))
        return false;
    for (const char *const *k = rule->keep; k != NULL && *k != NULL; k++)
        if (strcmp(name, *k) == 0)
            return false;
    return true;
}

static int prune_step(const char *path, long step, void *arg,
                      nfi_error *err)
{
    const prune_rule *rule = arg;
    bool scheduled = step == 0 || step == rule->steps ||
                     (rule->snapshot_every > 0 &&
                      step % rule->snapshot_every == 0);
    if (scheduled)
        return 0;
    return remove_in(path, snapshot_file, rule, true, err);
}

int train_resume_prune(const char *dir, long snapshot_every, long steps,
                       const char *const *keep, nfi_error *err)
{
    prune_rule rule = {snapshot_every, steps, keep};
    return each_step(dir, prune_step, &rule, err);
}
