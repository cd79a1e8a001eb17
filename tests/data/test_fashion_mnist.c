/* Fashion-MNIST as Debian's dataset-fashion-mnist package installs it
 * (data/idx.h): the headers, the full training and test sets through the
 * loader, their label counts and first labels, checksums of every pixel
 * byte (computed independently from the files), the subset as a prefix
 * of the full set, and the label check with too small a k.
 *
 * Skipped (exit status 77) when the files are absent.  The directory is
 * NFI_IDX_FASHION_MNIST_DIR unless the environment variable
 * NFI_FASHION_MNIST_DIR names another.
 *
 * Why: this is the real data set the trainer will read; the checksums
 * prove that every byte of the 47 MB arrives, in order, and that scaling
 * by 1/255 loses nothing (each byte comes back as round(255 x)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "idx.h"

static char images_path[2][4200], labels_path[2][4200];

static const struct {
    const char *name;
    uint32_t n;
    uint64_t byte_sum, ones, zeros;
    uint32_t first_labels[12];
} sets[2] = {
    {"train", 60000, 3431114169ULL, 379088, 23616498,
     {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9}},
    {"t10k", 10000, 573469082ULL, 62787, 3919183,
     {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5}},
};

static void check_headers(int s)
{
    nfi_idx_array h;
    nfi_error err = {""};
    int status = nfi_idx_read_header(images_path[s], &h, &err);
    check_true(status == 0 && h.type == NFI_IDX_TYPE_U8 && h.ndim == 3
               && h.dims[0] == sets[s].n && h.dims[1] == 28
               && h.dims[2] == 28, "%s images header: %d (%s)",
               sets[s].name, status, err.message);
    status = nfi_idx_read_header(labels_path[s], &h, &err);
    check_true(status == 0 && h.type == NFI_IDX_TYPE_U8 && h.ndim == 1
               && h.dims[0] == sets[s].n, "%s labels header: %d (%s)",
               sets[s].name, status, err.message);
}

static void check_set(int s)
{
    nfi_idx_dataset d;
    nfi_error err = {""};
    int status = nfi_idx_load(images_path[s], labels_path[s], 10,
                              NFI_IDX_ALL, &d, &err);
    if (!check_true(status == 0, "load %s: %s", sets[s].name, err.message))
        return;
    check_true(d.n == sets[s].n && d.width == 784 && d.sample_ndim == 2
               && d.sample_dims[0] == 28 && d.sample_dims[1] == 28
               && d.k == 10, "%s: %zu samples of %zu values (%u x %u)",
               sets[s].name, d.n, d.width, d.sample_dims[0],
               d.sample_dims[1]);

    size_t per_class[10] = {0};
    for (size_t i = 0; i < d.n; i++)
        per_class[d.label[i] < 10 ? d.label[i] : 0]++;
    bool balanced = true;
    for (int c = 0; c < 10; c++)
        balanced = balanced && per_class[c] == sets[s].n / 10;
    check_true(balanced, "%s: each class %u times (class 0: %zu)",
               sets[s].name, sets[s].n / 10, per_class[0]);
    bool first = true;
    for (int i = 0; i < 12; i++)
        first = first && d.label[i] == sets[s].first_labels[i];
    check_true(first, "%s: the first labels", sets[s].name);

    /* Every value is some byte / 255, correctly rounded: 255 x is within
     * 2^-44 of that byte, and dividing the byte again gives x. */
    uint64_t sum = 0, ones = 0, zeros = 0, off_grid = 0;
    for (size_t i = 0; i < d.n * d.width; i++) {
        double x = d.x[i], v = nearbyint(x * 255);
        if (!(v >= 0 && v <= 255 && v / 255 == x))
            off_grid++;
        sum += (uint64_t)v;
        ones += x == 1;
        zeros += x == 0;
    }
    check_true(off_grid == 0 && sum == sets[s].byte_sum
               && ones == sets[s].ones && zeros == sets[s].zeros,
               "%s pixels: %llu off the byte grid, byte sum %llu (expected "
               "%llu), %llu ones, %llu zeros", sets[s].name,
               (unsigned long long)off_grid, (unsigned long long)sum,
               (unsigned long long)sets[s].byte_sum,
               (unsigned long long)ones, (unsigned long long)zeros);

    /* A subset is the prefix of the full set. */
    nfi_idx_dataset sub;
    status = nfi_idx_load(images_path[s], labels_path[s], 10, 1000, &sub,
                          &err);
    check_true(status == 0 && sub.n == 1000
               && memcmp(sub.x, d.x, 1000 * 784 * sizeof *d.x) == 0
               && memcmp(sub.label, d.label, 1000 * sizeof *d.label) == 0,
               "%s subset 1000 is the first 1000 samples: %d (%s)",
               sets[s].name, status, err.message);
    nfi_idx_dataset_free(&sub);
    nfi_idx_dataset_free(&d);

    /* With k = 9 the first label 9 is out of range: sample 0. */
    status = nfi_idx_load(images_path[s], labels_path[s], 9, NFI_IDX_ALL,
                          &d, &err);
    check_true(status == -1 && strstr(err.message, "label 9 of sample 0")
               != NULL, "%s with k = 9: %d (%s)", sets[s].name, status,
               err.message);
}

int main(void)
{
    const char *dir = getenv("NFI_FASHION_MNIST_DIR");
    if (dir == NULL || *dir == '\0')
        dir = NFI_IDX_FASHION_MNIST_DIR;
    for (int s = 0; s < 2; s++) {
        snprintf(images_path[s], sizeof images_path[s],
                 "%s/%s-images-idx3-ubyte.gz", dir, sets[s].name);
        snprintf(labels_path[s], sizeof labels_path[s],
                 "%s/%s-labels-idx1-ubyte.gz", dir, sets[s].name);
        if (access(images_path[s], R_OK) != 0
            || access(labels_path[s], R_OK) != 0) {
            printf("test_fashion_mnist: skipped: %s or %s is missing; "
                   "install Debian's package dataset-fashion-mnist or set "
                   "NFI_FASHION_MNIST_DIR\n", images_path[s],
                   labels_path[s]);
            return 77;
        }
    }

    harness_init("test_fashion_mnist", 1);
    for (int s = 0; s < 2; s++) {
        check_headers(s);
        check_set(s);
    }
    return harness_finish();
}
