/* nfi: IDX files, the format of MNIST and Fashion-MNIST.
 *
 * Layout, all integers big-endian: two zero bytes; a type byte (0x08
 * unsigned byte, 0x09 signed byte, 0x0B 16-bit integer, 0x0C 32-bit
 * integer, 0x0D binary32, 0x0E binary64); a dimension count D; D sizes as
 * unsigned 32-bit integers; then the values, row-major (the last index
 * varies fastest), each big-endian.  The first dimension counts items
 * (images, labels).  A file may also be gzip-compressed as a whole (the
 * form in which MNIST is distributed): the reader recognises gzip by its
 * content, not by its name, and reads either form.
 *
 * Values come back as binary64 numbers, every one of them exact (each
 * IDX type is a subset of binary64).  Debian's package
 * dataset-fashion-mnist installs the four Fashion-MNIST files, gzipped,
 * in NFI_IDX_FASHION_MNIST_DIR: train-images-idx3-ubyte.gz (60000 x 28 x
 * 28 bytes), train-labels-idx1-ubyte.gz (60000 labels in [0, 10)) and
 * the t10k- pair (10000 of each). */
#ifndef NFI_IDX_H
#define NFI_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NFI_IDX_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The largest dimension count accepted (real files have 1 to 4). */
#define NFI_IDX_MAX_DIMS 16
/* The largest number of values a file may declare: 2^40, far beyond any
 * data set nfi trains on, so that a corrupt header is caught before it
 * asks for an absurd allocation. */
#define NFI_IDX_MAX_VALUES (1ULL << 40)
/* "All items", for the limit of nfi_idx_read and the subset of
 * nfi_idx_load. */
#define NFI_IDX_ALL SIZE_MAX

typedef enum nfi_idx_type {
    NFI_IDX_TYPE_U8 = 0x08,  /* unsigned byte */
    NFI_IDX_TYPE_I8 = 0x09,  /* signed byte */
    NFI_IDX_TYPE_I16 = 0x0b, /* 16-bit two's complement */
    NFI_IDX_TYPE_I32 = 0x0c, /* 32-bit two's complement */
    NFI_IDX_TYPE_F32 = 0x0d, /* IEEE binary32 */
    NFI_IDX_TYPE_F64 = 0x0e  /* IEEE binary64 */
} nfi_idx_type;

typedef struct nfi_idx_array {
    nfi_idx_type type;
    int ndim;                        /* 1 to NFI_IDX_MAX_DIMS */
    uint32_t dims[NFI_IDX_MAX_DIMS]; /* sizes as the header declares them */
    size_t items;                    /* items read: dims[0] or fewer */
    size_t count;                    /* values read: items * dims[1] ... */
    double *values;                  /* (count), row-major; NULL if 0 */
} nfi_idx_array;

/* A labelled data set: images (or any samples) and one label each. */
typedef struct nfi_idx_dataset {
    size_t n;                /* samples */
    size_t width;            /* values per sample: dims[1] * dims[2] ... */
    int sample_ndim;         /* dimensions of a sample (2 for images) */
    uint32_t sample_dims[NFI_IDX_MAX_DIMS - 1]; /* e.g. 28, 28 */
    size_t k;                /* classes: every label is in [0, k) */
    double *x;               /* (n, width): byte / 255, see nfi_idx_load */
    uint32_t *label;         /* (n) */
} nfi_idx_dataset;

/* The name of an IDX type ("unsigned byte", "signed byte", "int16",
 * "int32", "float32", "float64"), or NULL for another byte. */
const char *nfi_idx_type_name(int type);

/* Bytes per value of an IDX type: 1, 2, 4 or 8; 0 for another byte. */
size_t nfi_idx_type_size(int type);

/* Reads only the header of the IDX file at path (plain or gzip): type,
 * ndim and dims; items and count are 0 and values NULL.  Returns 0, or -1
 * with an error that names the file and what was wrong: the file cannot
 * be opened (with the system's reason), the magic number (two zero
 * bytes), the type byte, the dimension count (1 to NFI_IDX_MAX_DIMS), a
 * header cut short, sizes whose product exceeds NFI_IDX_MAX_VALUES, or
 * corrupt compressed data.  *out is zeroed on error. */
int nfi_idx_read_header(const char *path, nfi_idx_array *out,
                        nfi_error *err);

/* Reads the IDX file at path (plain or gzip): the header and the first
 * `limit` items, or all of them with limit = NFI_IDX_ALL, converted to
 * binary64 (exactly).  Reading all items also requires the file to end
 * where its header says.  Returns 0 with *out filled (release it with
 * nfi_idx_array_free), or -1 with an error naming the file and what was
 * wrong: the errors of nfi_idx_read_header, limit 0 or above dims[0],
 * data that ends before the declared size (truncated; the message gives
 * the bytes expected and found), data beyond it, or a failed
 * allocation.  *out is zeroed on error. */
int nfi_idx_read(const char *path, size_t limit, nfi_idx_array *out,
                 nfi_error *err);

/* Releases the values of an array and zeroes it; NULL is allowed. */
void nfi_idx_array_free(nfi_idx_array *array);

/* Writes an IDX file: the header of (type, ndim, dims) and the
 * dims[0] * ... * dims[ndim - 1] values, gzip-compressed when gzip is
 * non-zero (zlib's default level), replacing any file at path.  Every
 * value must be representable in the type: an integer in range for the
 * integer types, a binary32 number (or NaN, or an infinity) for float32.
 * Meant for tests and small exports.  Returns 0, or -1 with an error
 * naming the bad argument (the first unrepresentable value with its
 * index), or the file and the system's reason when it cannot be written
 * (a partial file may then remain). */
int nfi_idx_write(const char *path, nfi_idx_type type, int ndim,
                  const uint32_t *dims, const double *values, int gzip,
                  nfi_error *err);

/* Loads a labelled data set from an images file and a labels file (plain
 * or gzip), such as Fashion-MNIST's:
 *   - images: unsigned bytes, 1 or more dimensions, the first counting
 *     samples; each byte v becomes v / 255 rounded to nearest binary64
 *     (IEEE division), so 0 -> 0 and 255 -> 1 exactly, and the other
 *     values are the binary64 numbers nearest to v / 255.
 *   - labels: one dimension, an integer type (unsigned or signed byte,
 *     int16, int32), every label read in [0, k).
 * Both files must declare the same number of samples N.  subset = s keeps
 * the first s samples of both files, in file order (1 <= s <= N), and
 * reads no further; NFI_IDX_ALL keeps all N.  k >= 2.
 * Returns 0 with *out filled (release it with nfi_idx_dataset_free), or
 * -1 with an error naming the file and what was expected: the errors of
 * nfi_idx_read, an images type other than unsigned byte, a labels file
 * that is not one-dimensional integers, different sample counts, a bad
 * subset or k, or a label outside [0, k) (with its sample index).  *out
 * is zeroed on error. */
int nfi_idx_load(const char *images_path, const char *labels_path,
                 size_t k, size_t subset, nfi_idx_dataset *out,
                 nfi_error *err);

/* Releases the arrays of a data set and zeroes it; NULL is allowed. */
void nfi_idx_dataset_free(nfi_idx_dataset *data);

#endif
