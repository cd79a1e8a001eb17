/* nfi: format descriptors, parsing and derived constants. */
#include "format.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>

#define EXAMPLE "valid examples: binary32; bf16; e5m2; " \
                "e8m23,subnormals=off; p=20,emin=-126,emax=127,round=rz"

struct named_format {
    const char *names[4];
    long p, emin, emax;
    bool has_inf;
    int reserved_top;
};

static const struct named_format named_formats[] = {
    {{"binary16", "fp16", "half", NULL}, 11, -14, 15, true, 0},
    {{"bfloat16", "bf16", NULL, NULL}, 8, -126, 127, true, 0},
    {{"tf32", NULL, NULL, NULL}, 11, -126, 127, true, 0},
    {{"binary32", "fp32", "single", NULL}, 24, -126, 127, true, 0},
    {{"binary64", "fp64", "double", NULL}, 53, -1022, 1023, true, 0},
    {{"binary128", "fp128", "quad", NULL}, 113, -16382, 16383, true, 0},
    /* OCP 8-bit floating point 1.0: E4M3 has no infinities and only
     * S.1111.111 as NaN, so 1.111 * 2^8 = 480 is not a value and the
     * largest finite is 1.110 * 2^8 = 448. */
    {{"e4m3", "fp8e4m3", NULL, NULL}, 4, -6, 8, false, 1},
    {{"e5m2", "fp8e5m2", NULL, NULL}, 3, -14, 15, true, 0},
};

#define N_NAMED (sizeof named_formats / sizeof named_formats[0])

static const char *const round_names[NFI_ROUND_COUNT] = {
    "rne", "rna", "rz", "ru", "rd", "sr"};

const char *nfi_round_name(nfi_round mode)
{
    if ((int)mode < 0 || (int)mode >= NFI_ROUND_COUNT)
        return "?";
    return round_names[mode];
}

int nfi_round_parse(const char *name, nfi_round *out, nfi_error *err)
{
    static const struct {
        const char *alias;
        nfi_round mode;
    } aliases[] = {
        {"nearest", NFI_ROUND_RNE}, {"rn", NFI_ROUND_RNE},
        {"zero", NFI_ROUND_RZ},     {"up", NFI_ROUND_RU},
        {"down", NFI_ROUND_RD},     {"stochastic", NFI_ROUND_SR},
    };
    for (int i = 0; i < NFI_ROUND_COUNT; i++) {
        if (strcasecmp(name, round_names[i]) == 0) {
            *out = (nfi_round)i;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].mode;
            return 0;
        }
    }
    return nfi_error_set(err, "unknown rounding mode '%s': use one of rne, "
                         "rna, rz, ru, rd, sr", name);
}

/* Parses a whole decimal integer (optional sign).  Returns 0 or -1. */
/* Returns 0, -1 when s is not a whole number, -2 when it is one beyond
 * the range of long. */
static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    long v = strtol(s, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2;
    *out = v;
    return 0;
}

/* Recognises eXmY; returns 1 with p, emin, emax set, 0 if the token is
 * not of that shape, -1 if it is but the numbers are impossible. */
static int parse_exmy(const char *tok, nfi_format *f, nfi_error *err)
{
    if (tolower((unsigned char)tok[0]) != 'e' ||
        !isdigit((unsigned char)tok[1]))
        return 0;
    char *end;
    errno = 0;
    long x = strtol(tok + 1, &end, 10);
    if (tolower((unsigned char)*end) != 'm' ||
        !isdigit((unsigned char)end[1]))
        return 0;
    const char *ystr = end + 1;
    long y = strtol(ystr, &end, 10);
    if (*end != '\0')
        return 0;
    if (errno != 0 || x < 2 || x > 40)
        return nfi_error_set(err, "format '%s': the exponent field needs "
                             "2 to 40 bits (e8m23 is binary32); %s", tok,
                             EXAMPLE);
    if (y < NFI_PREC_MIN - 1 || y > NFI_PREC_MAX - 1)
        return nfi_error_set(err, "format '%s': the fraction field needs "
                             "%d to %d bits (e5m10 is binary16); %s", tok,
                             NFI_PREC_MIN - 1, NFI_PREC_MAX - 1, EXAMPLE);
    long bias = (1L << (x - 1)) - 1;
    f->p = y + 1;
    f->emax = bias;
    f->emin = 1 - bias;
    return 1;
}

static int parse_switch(const char *key, const char *val, const char *a,
                        const char *b, bool *out, nfi_error *err)
{
    if (strcasecmp(val, a) == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(val, b) == 0) {
        *out = false;
        return 0;
    }
    return nfi_error_set(err, "option '%s=%s': use %s=%s or %s=%s", key, val,
                         key, a, key, b);
}

static int apply_option(nfi_format *f, const char *key, const char *val,
                        bool *seen_p, bool *seen_emin, bool *seen_emax,
                        nfi_error *err)
{
    if (strcasecmp(key, "p") == 0 || strcasecmp(key, "emin") == 0 ||
        strcasecmp(key, "emax") == 0) {
        long v;
        int rc = parse_long(val, &v);
        if (rc == -2)
            return nfi_error_set(err, "'%s=%s' is out of range: p must be "
                                 "%d to %d and emin, emax within +-2^40",
                                 key, val, NFI_PREC_MIN, NFI_PREC_MAX);
        if (rc != 0)
            return nfi_error_set(err, "'%s=%s': %s takes a whole number; %s",
                                 key, val, key, EXAMPLE);
        if (strcasecmp(key, "p") == 0) {
            f->p = v;
            *seen_p = true;
        } else if (strcasecmp(key, "emin") == 0) {
            f->emin = v;
            *seen_emin = true;
        } else {
            f->emax = v;
            *seen_emax = true;
        }
        return 0;
    }
    if (strcasecmp(key, "subnormals") == 0 ||
        strcasecmp(key, "denormals") == 0)
        return parse_switch("subnormals", val, "on", "off", &f->subnormals,
                            err);
    if (strcasecmp(key, "overflow") == 0) {
        bool inf = true;
        if (parse_switch("overflow", val, "inf", "saturate", &inf, err))
            return -1;
        f->overflow = inf ? NFI_OVERFLOW_INF : NFI_OVERFLOW_SATURATE;
        return 0;
    }
    if (strcasecmp(key, "round") == 0) {
        if (nfi_round_parse(val, &f->round, err) != 0)
            return -1;
        return 0;
    }
    return nfi_error_set(err, "unknown option '%s=%s': options are p, emin, "
                         "emax, subnormals=on|off, overflow=inf|saturate, "
                         "round=rne|rna|rz|ru|rd|sr", key, val);
}

int nfi_format_validate(const nfi_format *f, nfi_error *err)
{
    if (f->p < NFI_PREC_MIN || f->p > NFI_PREC_MAX)
        return nfi_error_set(err, "p=%ld is out of range: p counts the "
                             "leading bit and must be %d to %d (binary32 "
                             "has p=24)", f->p, NFI_PREC_MIN, NFI_PREC_MAX);
    if (f->emin < -NFI_EXP_LIMIT || f->emax > NFI_EXP_LIMIT)
        return nfi_error_set(err, "exponent range emin=%ld, emax=%ld is out "
                             "of range: both must lie within +-2^40",
                             f->emin, f->emax);
    if (f->emin > f->emax)
        return nfi_error_set(err, "emin=%ld is above emax=%ld: emin and emax "
                             "are the IEEE exponents of the smallest and "
                             "largest normal binade (binary32: emin=-126, "
                             "emax=127)", f->emin, f->emax);
    if (f->emin > 0 || f->emax < 0)
        return nfi_error_set(err, "emin=%ld, emax=%ld: the normal range must "
                             "contain 1 (emin <= 0 <= emax), as in every "
                             "IEEE-style format", f->emin, f->emax);
    if (f->reserved_top < 0 || (f->p < 62 &&
        f->reserved_top >= (1L << (f->p - 1))))
        return nfi_error_set(err, "reserved_top=%d leaves no value in the "
                             "top binade", f->reserved_top);
    if ((int)f->round < 0 || (int)f->round >= NFI_ROUND_COUNT)
        return nfi_error_set(err, "rounding mode %d is not a mode",
                             (int)f->round);
    return 0;
}

int nfi_format_parse(const char *spec, nfi_format *out, nfi_error *err)
{
    nfi_format f = {0, 0, 0, true, true, 0, NFI_OVERFLOW_INF, NFI_ROUND_RNE};
    bool seen_p = false, seen_emin = false, seen_emax = false;
    bool named = false;
    char buf[256];

    if (spec == NULL || *spec == '\0')
        return nfi_error_set(err, "empty format; %s", EXAMPLE);
    if (strlen(spec) >= sizeof buf)
        return nfi_error_set(err, "format specification is too long (%zu "
                             "characters); %s", strlen(spec), EXAMPLE);
    strcpy(buf, spec);
    size_t len = strlen(spec);
    if (spec[0] == ',' || spec[len - 1] == ',' || strstr(spec, ",,"))
        return nfi_error_set(err, "format '%s' has an empty part between "
                             "commas; %s", spec, EXAMPLE);

    const char *seen_keys[16];
    int n_seen = 0;
    int index = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save), index++) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *tail = tok + strlen(tok);
        while (tail > tok && isspace((unsigned char)tail[-1]))
            *--tail = '\0';
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            if (index != 0)
                return nfi_error_set(err, "format '%s': '%s' is not an "
                                     "option (options look like "
                                     "subnormals=off); %s", spec, tok,
                                     EXAMPLE);
            for (size_t i = 0; i < N_NAMED && !named; i++) {
                for (int j = 0; j < 4 && named_formats[i].names[j]; j++) {
                    if (strcasecmp(tok, named_formats[i].names[j]) == 0) {
                        f.p = named_formats[i].p;
                        f.emin = named_formats[i].emin;
                        f.emax = named_formats[i].emax;
                        f.has_inf = named_formats[i].has_inf;
                        f.reserved_top = named_formats[i].reserved_top;
                        named = true;
                        break;
                    }
                }
            }
            if (!named) {
                int r = parse_exmy(tok, &f, err);
                if (r < 0)
                    return -1;
                if (r == 0)
                    return nfi_error_set(err, "unknown format name '%s': "
                                         "names are binary16 (fp16, half), "
                                         "bfloat16 (bf16), tf32, binary32 "
                                         "(fp32, single), binary64 (fp64, "
                                         "double), binary128, e4m3, e5m2, "
                                         "or eXmY; %s", tok, EXAMPLE);
                named = true;
            }
            continue;
        }
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        if (named && (strcasecmp(key, "p") == 0 ||
                      strcasecmp(key, "emin") == 0 ||
                      strcasecmp(key, "emax") == 0))
            return nfi_error_set(err, "format '%s': '%s=' cannot follow a "
                                 "format name; give either a name or "
                                 "p=,emin=,emax=", spec, key);
        const char *canonical = strcasecmp(key, "denormals") == 0
                                    ? "subnormals" : key;
        for (int i = 0; i < n_seen; i++) {
            if (strcasecmp(seen_keys[i], canonical) == 0)
                return nfi_error_set(err, "format '%s' sets '%s' twice; "
                                     "give each option once", spec,
                                     canonical);
        }
        if (n_seen < 16)
            seen_keys[n_seen++] = canonical;
        if (apply_option(&f, key, val, &seen_p, &seen_emin, &seen_emax,
                         err) != 0)
            return -1;
    }
    if (!named) {
        if (!seen_p || !seen_emin || !seen_emax)
            return nfi_error_set(err, "format '%s' needs all of p=, emin= "
                                 "and emax= (or a name); %s", spec, EXAMPLE);
    }
    if (nfi_format_validate(&f, err) != 0)
        return -1;
    *out = f;
    return 0;
}

bool nfi_format_equal(const nfi_format *a, const nfi_format *b)
{
    return a->p == b->p && a->emin == b->emin && a->emax == b->emax &&
           a->subnormals == b->subnormals && a->has_inf == b->has_inf &&
           a->reserved_top == b->reserved_top &&
           a->overflow == b->overflow && a->round == b->round;
}

int nfi_format_spell(const nfi_format *f, char *buf, size_t size)
{
    char base[96];
    const char *name = NULL;
    for (size_t i = 0; i < N_NAMED && name == NULL; i++) {
        const struct named_format *n = &named_formats[i];
        if (n->p == f->p && n->emin == f->emin && n->emax == f->emax &&
            n->has_inf == f->has_inf && n->reserved_top == f->reserved_top)
            name = n->names[0];
    }
    if (name != NULL)
        snprintf(base, sizeof base, "%s", name);
    else
        snprintf(base, sizeof base, "p=%ld,emin=%ld,emax=%ld", f->p, f->emin,
                 f->emax);
    return snprintf(buf, size, "%s%s%s%s%s", base,
                    f->subnormals ? "" : ",subnormals=off",
                    f->overflow == NFI_OVERFLOW_SATURATE ?
                        ",overflow=saturate" : "",
                    f->round == NFI_ROUND_RNE ? "" : ",round=",
                    f->round == NFI_ROUND_RNE ? "" : nfi_round_name(f->round));
}

bool nfi_format_fits_binary64(const nfi_format *f)
{
    return f->p <= 53 && f->emin >= -1022 && f->emax <= 1023;
}

/* Sets out to exactly 2^e (precision 2 suffices for a power of two). */
/* The constants of a format with exponents near 2^40 lie outside MPFR's
 * default exponent range: they are made under the widest range, which
 * the caller's values then keep (MPFR checks ranges only when rounding). */
typedef struct range_guard {
    mpfr_exp_t emin, emax;
} range_guard;

static range_guard widen(void)
{
    range_guard g = {mpfr_get_emin(), mpfr_get_emax()};
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    return g;
}

static void restore(range_guard g)
{
    mpfr_set_emin(g.emin);
    mpfr_set_emax(g.emax);
}

static void set_pow2(mpfr_t out, long e)
{
    range_guard g = widen();
    mpfr_set_prec(out, 2);
    mpfr_set_ui_2exp(out, 1, e, MPFR_RNDN);
    restore(g);
}

void nfi_format_max_finite(const nfi_format *f, mpfr_t out)
{
    /* (2^p - 1 - reserved_top) * 2^(emax - p + 1), an integer of p bits
     * times a power of two. */
    mpz_t m;
    mpz_init(m);
    mpz_ui_pow_ui(m, 2, (unsigned long)f->p);
    mpz_sub_ui(m, m, 1UL + (unsigned long)f->reserved_top);
    range_guard g = widen();
    mpfr_set_prec(out, f->p);
    mpfr_set_z_2exp(out, m, f->emax - f->p + 1, MPFR_RNDN);
    restore(g);
    mpz_clear(m);
}

void nfi_format_min_normal(const nfi_format *f, mpfr_t out)
{
    set_pow2(out, f->emin);
}

void nfi_format_min_positive(const nfi_format *f, mpfr_t out)
{
    set_pow2(out, f->subnormals ? f->emin - f->p + 1 : f->emin);
}

void nfi_format_unit_roundoff(const nfi_format *f, mpfr_t out)
{
    set_pow2(out, -f->p);
}

void nfi_format_epsilon(const nfi_format *f, mpfr_t out)
{
    set_pow2(out, 1 - f->p);
}

void nfi_format_count_finite(const nfi_format *f, mpz_t out)
{
    /* Positive normals: (emax - emin + 1) binades of 2^(p-1) values, less
     * the reserved ones; positive subnormals: 2^(p-1) - 1; then both
     * signs, and the two zeros. */
    mpz_t binade;
    mpz_init(binade);
    mpz_ui_pow_ui(binade, 2, (unsigned long)(f->p - 1));
    mpz_mul_ui(out, binade, (unsigned long)(f->emax - f->emin + 1));
    mpz_sub_ui(out, out, (unsigned long)f->reserved_top);
    if (f->subnormals) {
        mpz_add(out, out, binade);
        mpz_sub_ui(out, out, 1);
    }
    mpz_mul_2exp(out, out, 1);
    mpz_add_ui(out, out, 2);
    mpz_clear(binade);
}

double nfi_format_max_finite_d(const nfi_format *f)
{
    /* Exact: a p-bit integer (p <= 53) times a power of two in range. */
    double m = (double)((1ULL << f->p) - 1 - (unsigned)f->reserved_top);
    return ldexp(m, (int)(f->emax - f->p + 1));
}

double nfi_format_min_positive_d(const nfi_format *f)
{
    return ldexp(1.0, (int)(f->subnormals ? f->emin - f->p + 1 : f->emin));
}
