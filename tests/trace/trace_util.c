#define _XOPEN_SOURCE 700
#include "trace_util.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace/atomic.h"

char *temp_dir_make(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *path = malloc(n);
    if (path == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    snprintf(path, n, "%s/nfi-%s-XXXXXX", base, tag);
    if (mkdtemp(path) == NULL) {
        perror(path);
        exit(1);
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) != 0)
        perror(path);
    return 0;
}

void temp_dir_remove(char *path)
{
    /* Owner permissions back first, in case a test took them away. */
    chmod(path, 0700);
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

const char *path_in(const char *dir, const char *name)
{
    static char buffers[8][4096];
    static int next;
    char *buf = buffers[next++ % 8];
    snprintf(buf, sizeof buffers[0], "%s/%s", dir, name);
    return buf;
}

char *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *text = malloc(cap + 1);
    size_t got;
    while (text != NULL && (got = fread(text + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *more = realloc(text, cap + 1);
            if (more == NULL)
                free(text);
            text = more;
        }
    }
    fclose(f);
    if (text == NULL)
        return NULL;
    text[n] = '\0';
    if (len != NULL)
        *len = n;
    return text;
}

void file_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

bool file_equals(const char *path, const void *data, size_t n)
{
    size_t len;
    char *text = file_read(path, &len);
    bool same = text != NULL && len == n && memcmp(text, data, n) == 0;
    free(text);
    return same;
}

bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

size_t dir_count(const char *dir, size_t *temporaries)
{
    DIR *d = opendir(dir);
    size_t count = 0, temps = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        count++;
        temps += nfi_atomic_is_temporary(e->d_name);
    }
    if (d != NULL)
        closedir(d);
    if (temporaries != NULL)
        *temporaries = temps;
    return count;
}
