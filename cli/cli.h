/* nfi command-line front end: shared declarations.  Only the front end
 * prints and exits; everything it computes comes from the library. */
#ifndef NFI_CLI_H
#define NFI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <mpfr.h>

#include "format.h"

int nfi_cmd_format(int argc, char **argv);
int nfi_cmd_arith(int argc, char **argv);
int nfi_cmd_demo(int argc, char **argv);
int nfi_cmd_train(int argc, char **argv);
int nfi_cmd_plot(int argc, char **argv);
int nfi_cmd_threshold(int argc, char **argv);
int nfi_cmd_verify(int argc, char **argv);
int nfi_cmd_export(int argc, char **argv);
int nfi_cmd_diff(int argc, char **argv);
int nfi_cmd_sweep(int argc, char **argv);

/* Whether --NAME is an option of nfi train that takes a value (every
 * one but --force, --resume and --help). */
bool nfi_train_option_known(const char *name);

/* Seconds on the monotonic clock, for rates and times left. */
double nfi_cli_now_seconds(void);

/* A duration of s seconds for a progress line: "42s", "3m07s", "2h05m";
 * "?" when s is negative or not finite. */
void nfi_cli_format_duration(char *buf, size_t cap, double s);

/* Prints "nfi COMMAND: MESSAGE" (printf-style, one line) on standard
 * error and returns status, so that a command can write
 * `return nfi_cli_fail("train", 2, "...", ...);`. */
int nfi_cli_fail(const char *command, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a format value into buf: C99 %a of the binary64 value for
 * formats inside binary64 (exact), a normalised hexadecimal form
 * 0x1.<digits>p<e> of the exact value otherwise; NaN as "nan",
 * infinities as "inf" and "-inf".  buf needs p/4 + 32 bytes. */
void nfi_cli_format_value(char *buf, size_t size, mpfr_srcptr x,
                          const nfi_format *f);

#endif
