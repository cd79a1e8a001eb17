/* nfi trace: named tensors in NumPy's .npz and in safetensors files,
 * for exchanging parameters, logits and data splits with other programs.
 *
 * Reading.  An .npz file is a zip archive of .npy members (np.savez
 * stores them, np.savez_compressed deflates them; both are read, and
 * the zip64 records NumPy writes are understood).  Each member NAME.npy
 * gives the tensor NAME.  A safetensors file is an 8-byte little-endian
 * header length, a JSON header {"NAME": {"dtype": ..., "shape": [...],
 * "data_offsets": [begin, end]}, ...} (an optional "__metadata__" entry
 * is skipped) and the data, little-endian, C order.  Element types read:
 *     float64 float32 float16 bfloat16 (safetensors only)
 *     int64 int32 int16 int8 uint64 uint32 uint16 uint8 bool
 * (NumPy descriptors '<f8' '<f4' '<f2' '<i8' '<i4' '<i2' '|i1' '<u8'
 * '<u4' '<u2' '|u1' '|b1'; safetensors F64 F32 F16 BF16 I64 I32 I16 I8
 * U64 U32 U16 U8 BOOL).  Big-endian data, Fortran order and other types
 * are refused with a message naming the file and the member.  Every
 * size, offset and length is checked against the file, so that a
 * truncated or damaged file gives an error, never a wrong tensor.
 *
 * Writing.  nfi writes float64 and int64 tensors: .npz as np.savez
 * does (members stored, not compressed, each with its CRC-32), and
 * safetensors with the header padded by spaces to a multiple of 8
 * bytes.  Files are written atomically (sim/trace/atomic.h). */
#ifndef NFI_TRACE_TENSORS_H
#define NFI_TRACE_TENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NFI_TENSOR_NAME_MAX 128
#define NFI_TENSOR_MAX_DIMS 8

typedef enum nfi_elem {
    NFI_ELEM_F64, NFI_ELEM_F32, NFI_ELEM_F16, NFI_ELEM_BF16,
    NFI_ELEM_I64, NFI_ELEM_I32, NFI_ELEM_I16, NFI_ELEM_I8,
    NFI_ELEM_U64, NFI_ELEM_U32, NFI_ELEM_U16, NFI_ELEM_U8,
    NFI_ELEM_BOOL
} nfi_elem;

#define NFI_ELEM_COUNT 13

/* NumPy's name of the element type ("float64", "bfloat16", ...). */
const char *nfi_elem_name(nfi_elem e);
/* Bytes per element. */
size_t nfi_elem_size(nfi_elem e);
/* Whether the type holds integers (bool included). */
bool nfi_elem_is_int(nfi_elem e);

typedef struct nfi_tensor {
    char name[NFI_TENSOR_NAME_MAX];
    nfi_elem elem;
    int ndim;
    size_t shape[NFI_TENSOR_MAX_DIMS];
    size_t count;      /* product of the shape (1 for ndim 0) */
    void *data;        /* count elements, host byte order; malloc'ed */
} nfi_tensor;

typedef struct nfi_tensor_set {
    size_t n;
    nfi_tensor *t;
} nfi_tensor_set;

/* Reads an .npz file (zip of .npy members), a safetensors file, by
 * content (a zip archive starts with "PK"); the file name's extension
 * plays no part.  Returns 0 with *out filled (release with
 * nfi_tensor_set_free), or -1 with err naming path (and the member) and
 * what is wrong, *out empty. */
int nfi_tensors_read(const char *path, nfi_tensor_set *out, nfi_error *err);

/* The same for one format, whatever the content. */
int nfi_npz_read(const char *path, nfi_tensor_set *out, nfi_error *err);
int nfi_safetensors_read(const char *path, nfi_tensor_set *out,
                         nfi_error *err);

void nfi_tensor_set_free(nfi_tensor_set *s);

/* The tensor named name, or NULL. */
const nfi_tensor *nfi_tensor_find(const nfi_tensor_set *s,
                                  const char *name);

/* Converts the elements of a floating-point tensor to binary64, exactly
 * (every float16, bfloat16 and float32 value is a binary64 value), into
 * out (t->count values).  Returns 0, or -1 with err naming the tensor
 * when it holds integers. */
int nfi_tensor_to_double(const nfi_tensor *t, double *out, nfi_error *err);

/* Converts the elements of an integer tensor to int64 into out
 * (t->count values).  Returns 0, or -1 with err naming the tensor when
 * it holds floating-point values or a uint64 above INT64_MAX. */
int nfi_tensor_to_int64(const nfi_tensor *t, int64_t *out, nfi_error *err);

/* A tensor to write: float64 (F64) or int64 (I64) values in host
 * order. */
typedef struct nfi_tensor_out {
    const char *name;
    nfi_elem elem;        /* NFI_ELEM_F64 or NFI_ELEM_I64 */
    int ndim;
    size_t shape[NFI_TENSOR_MAX_DIMS];
    const void *data;
} nfi_tensor_out;

/* Writes the n tensors to path atomically, as an .npz (stored members
 * NAME.npy) when npz is true, else as safetensors.  Returns 0, or -1
 * with err naming path (a bad element type or name, a failure to
 * write). */
int nfi_tensors_write(const char *path, bool npz, const nfi_tensor_out *t,
                      size_t n, nfi_error *err);

#endif
