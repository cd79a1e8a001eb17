/* nfi trace: metrics tables as CSV.
 *
 * One header row of column names, then one row per logged step, every
 * cell a number: integers in decimal, doubles as "%.17g" so that they
 * read back to the same binary64 value (with ".0" after integral values,
 * so that pandas infers a float column and -0 keeps its sign; see
 * sim/trace/numtext.h), NaN as "nan" and the infinities
 * as "inf" and "-inf" (pandas.read_csv, numpy.genfromtxt, Python's
 * float() and strtod read all three).  No cell needs quotes, and names
 * that would need them are refused.  The first column is the step.
 *
 * A table grows while the run goes on, so it cannot be written
 * atomically as a whole.  Each row goes to the file in one write(2) when
 * it is complete, so a reader or a crash sees whole rows and at most one
 * cut row at the end; a row that fails to write (full disk) is cut off
 * again.  A resumed run restarts from a checkpoint at some step S, so
 * the rows logged after S (and a cut last row) are not part of its
 * history: nfi_csv_resume keeps the rows up to S and replaces the file
 * atomically with them before appending, so that a crash during the
 * resume leaves either the old file or the cut one, and resuming again
 * gives the same table. */
#ifndef NFI_TRACE_CSV_H
#define NFI_TRACE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct nfi_csv_writer nfi_csv_writer;

/* Replaces path atomically with a table holding only the header of the
 * ncols names, then opens it for appending rows.  Names must be
 * non-empty and hold no ',', '"', CR or LF.  Returns NULL with err set
 * on a bad name, ncols 0, or a failure to write or open path (the
 * message names it and gives the system's reason). */
nfi_csv_writer *nfi_csv_create(const char *path, size_t ncols,
                               const char *const *names, nfi_error *err);

/* Opens the existing table path to append the rows of a run resumed
 * after step last_step.  The file's header must be exactly the given
 * names.  Keeps its complete rows up to the first row whose step (first
 * column, an integer) exceeds last_step, and drops that row, all that
 * follow and a last row without its line end; when anything is dropped
 * the file is replaced atomically.  The number of rows kept goes to
 * *kept (may be NULL).  Returns NULL with err naming path when the file
 * cannot be read or written, the header differs (both are quoted), or a
 * kept row is malformed (its line and what is wrong): then the file is
 * left as it was.  With last_step INT64_MAX this is a plain append that
 * checks the header and drops only a cut last row. */
nfi_csv_writer *nfi_csv_resume(const char *path, size_t ncols,
                               const char *const *names, int64_t last_step,
                               size_t *kept, nfi_error *err);

/* Append one cell to the row being built.  Return 0, or -1 once the
 * writer has failed. */
int nfi_csv_add_double(nfi_csv_writer *w, double x);
int nfi_csv_add_int(nfi_csv_writer *w, int64_t v);

/* Writes the row built since the last end_row, in one write.  Returns 0;
 * or -1 with err set when the row does not have as many cells as the
 * header has names (the row is dropped, the writer stays usable), or
 * when the write fails: the file is then cut back to its last complete
 * row where the system allows, and every later call fails with this
 * first message. */
int nfi_csv_end_row(nfi_csv_writer *w, nfi_error *err);

/* Fsyncs the rows written so far (a checkpoint calls this so that the
 * table is durable up to the checkpoint's step).  Returns 0 or -1 with
 * err naming the file. */
int nfi_csv_sync(nfi_csv_writer *w, nfi_error *err);

/* Syncs and closes the file and frees w (in every case; w may be NULL).
 * A row begun but not ended is discarded.  Returns 0, or -1 with err
 * holding the first failure of the writer's life. */
int nfi_csv_close(nfi_csv_writer *w, nfi_error *err);

/* A table read back: values in row-major order, (nrows, ncols).
 * Integers become doubles, exact up to 2^53. */
typedef struct nfi_csv_table {
    size_t ncols, nrows;
    char **names;       /* ncols names */
    double *values;     /* (nrows, ncols) */
} nfi_csv_table;

/* Reads a table as nfi writes it (also with CRLF line ends).  A last
 * line without its line end is a row still being written and is left
 * out.  Returns 0; or -1 with err naming path, and the line and column
 * of a row with the wrong number of cells or a cell that is not a
 * number, with *t left empty. */
int nfi_csv_read(const char *path, nfi_csv_table *t, nfi_error *err);

void nfi_csv_table_free(nfi_csv_table *t);

#endif
