/* nfi trace: arrays in NumPy's .npy format.
 *
 * The files are NumPy's format version 1.0 byte for byte as np.save
 * writes it (NumPy 1.24): the magic "\x93NUMPY", version 1.0, a 2-byte
 * little-endian header length, then the header
 *     {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * followed by the spaces NumPy keeps for growing the first axis, padding
 * spaces and '\n', so that the data starts at a multiple of 64 bytes.
 * The data follow in C order, little-endian whatever the host.
 *
 * np.load(path) reads them, torch.from_numpy(np.load(path)) turns them
 * into PyTorch tensors without a copy, and np.load(path, mmap_mode='r')
 * maps them (the aligned data allow this).  Files are written atomically
 * (sim/trace/atomic.h): a reader sees the old array or the new one. */
#ifndef NFI_TRACE_NPY_H
#define NFI_TRACE_NPY_H

#include <stddef.h>

#include "error.h"

typedef enum nfi_dtype {
    NFI_DTYPE_FLOAT64, /* '<f8', C double */
    NFI_DTYPE_FLOAT32, /* '<f4', C float */
    NFI_DTYPE_INT64,   /* '<i8', int64_t */
    NFI_DTYPE_INT32,   /* '<i4', int32_t */
    NFI_DTYPE_UINT8,   /* '|u1', uint8_t */
} nfi_dtype;

#define NFI_DTYPE_COUNT 5

/* NumPy 1.x arrays have at most 32 dimensions. */
#define NFI_NPY_MAX_DIMS 32

/* Room for the longest header nfi writes (32 dimensions of 20 digits). */
#define NFI_NPY_HEADER_MAX 1024

/* Bytes per element (8, 4, 8, 4, 1), NumPy's descriptor ("<f8", "<f4",
 * "<i8", "<i4", "|u1") and NumPy's name ("float64", ...).  A value
 * outside the enumeration gives 0 and NULL. */
size_t nfi_dtype_size(nfi_dtype dtype);
const char *nfi_dtype_descr(nfi_dtype dtype);
const char *nfi_dtype_name(nfi_dtype dtype);

/* The element count of a shape (1 for ndim 0), or 0 with *overflow set
 * when the count or its size in bytes for an element of elem_size bytes
 * exceeds SIZE_MAX. */
size_t nfi_npy_count(int ndim, const size_t *shape, size_t elem_size,
                     int *overflow);

/* Writes into buf (cap bytes, NFI_NPY_HEADER_MAX is always enough) the
 * bytes that precede the data of an array of this dtype and shape
 * (ndim 0 for a scalar, shape may then be NULL).  Returns the length, a
 * multiple of 64; or -1 with err set when dtype or ndim (0 to
 * NFI_NPY_MAX_DIMS) is out of range or cap is too small. */
long nfi_npy_header(nfi_dtype dtype, int ndim, const size_t *shape,
                    char *buf, size_t cap, nfi_error *err);

/* Replaces path atomically with the array: data holds the product of
 * the shape's entries elements of dtype in C order in the host's byte
 * order (it may be NULL when that product is 0).  Returns 0; or -1 with
 * err set on a bad dtype or ndim, a size that overflows, or a failure to
 * write (the message names path; an existing file is left as it was). */
int nfi_npy_write(const char *path, nfi_dtype dtype, int ndim,
                  const size_t *shape, const void *data, nfi_error *err);

/* An array read back. */
typedef struct nfi_npy_array {
    nfi_dtype dtype;
    int ndim;
    size_t shape[NFI_NPY_MAX_DIMS];
    size_t count;   /* product of shape[0, ndim); 1 when ndim is 0 */
    void *data;     /* count elements, C order, host byte order; malloc'ed,
                     * never NULL after a successful read */
} nfi_npy_array;

/* Reads path into *out.  Accepts format versions 1.0, 2.0 and 3.0, a
 * header in the literal syntax NumPy writes (keys in any order, either
 * quote), the five descriptors above ('<u1' too), fortran_order False,
 * and checks that the file holds exactly the bytes the shape needs.
 * Returns 0; or -1 with err naming path and what is wrong (bad magic,
 * unsupported version or descriptor, Fortran order, malformed header or
 * shape, a file too short or too long), with *out left empty (data NULL,
 * ndim 0). */
int nfi_npy_read(const char *path, nfi_npy_array *out, nfi_error *err);

/* Frees the data of an array read by nfi_npy_read and empties it. */
void nfi_npy_free(nfi_npy_array *a);

#endif
