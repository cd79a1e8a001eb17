/* nfi: what the commands write to standard error: the clock and the
 * durations of the progress lines of nfi train and nfi sweep, and the
 * error messages of every command. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

double nfi_cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nfi_cli_format_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, cap, "%.0fh%02.0fm", floor(s / 3600),
                 fmod(floor(s / 60), 60));
}

int nfi_cli_fail(const char *command, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nfi %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}
