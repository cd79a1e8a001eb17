/* Tests of verify/threshold: boundaries against values derived by hand,
 * and the predicate flipping exactly at every reported boundary.
 *
 * Derivations (RNE, correct logit z_y = 0, N = 1, c the competitors'
 * common value, e = RN(exp c) the competitors' terms):
 *
 * 1. One competitor.  s = RN(1 + e) is 1 exactly when e <= 2^-p (the
 *    tie 1 + 2^-p goes to the even 1); then l = log 1 = 0 and q_y = 1 in
 *    every scheme, so grad_y = 0.  Otherwise s >= 1 + 2^(1-p) and q_y is
 *    about 1 - 2^(1-p), a value below 1, so grad_y != 0.  RN(exp c) <=
 *    2^-p exactly when exp c < 2^-p (1 + 2^-p) (the midpoint above 2^-p;
 *    exp c never equals it), i.e. margin -c > T1 = p ln 2 - ln(1 +
 *    2^-p).  So the smallest absorbed margin is T1 rounded up into the
 *    format and the largest not absorbed is its predecessor: for
 *    binary32 T1 = 16.635532273834..., for binary64 36.7368005696771...,
 *    bfloat16 5.54128..., binary16 7.62413...; the closed form p ln 2
 *    is off by ln(1 + 2^-p) before the margin's own rounding.
 * 2. K - 1 competitors, exact order: s = RN(1 + (K-1) e) is 1 exactly
 *    when (K-1) e <= 2^-p, i.e. e <= w = RD(2^-p / (K-1)), i.e. exp c <
 *    w + ulp(w)/2: the margin must exceed T2 = -ln(w + ulp(w)/2).
 * 3. Wrong classes.  With s = 1 (far beyond T1), every scheme computes
 *    grad_j = RN(exp c) (logsoftmax: 0 - RN(exp c) * -1), which is 0
 *    exactly when exp c < 2^(emin-p) (half the smallest subnormal; ties
 *    impossible), margin > (p - emin) ln 2, or without subnormals when
 *    exp c < 2^(emin-1), margin > (1 - emin) ln 2.  binary32: 103.97
 *    and 88.03. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "threshold.h"

#define WORK_PREC 400

static nfi_reduction order_of(const char *text)
{
    nfi_reduction r;
    if (nfi_reduction_parse(text, &r, NULL) != 0)
        abort();
    return r;
}

/* yes = t rounded up into f (a normal value there), no = its
 * predecessor. */
static void round_up_into(const nfi_format *f, mpfr_srcptr t, mpfr_t yes,
                          mpfr_t no)
{
    mpfr_set_prec(yes, f->p);
    mpfr_set_prec(no, f->p);
    mpfr_set(yes, t, MPFR_RNDU);
    mpfr_set(no, yes, MPFR_RNDN);
    mpfr_nextbelow(no);
}

static void check_boundary(const char *what, const nfi_pred_spec *s,
                           nfi_thr_event ev, size_t k, nfi_thr_label lab,
                           mpfr_srcptr expect_yes, mpfr_srcptr expect_no)
{
    mpfr_t zy;
    mpfr_init2(zy, 2);
    mpfr_set_zero(zy, 1);
    nfi_thr_result r;
    nfi_thr_result_init(&r);
    nfi_error err;
    int rc = nfi_thr_search(s, ev, k, lab, zy, &r, &err);
    char fmt[64];
    nfi_format_spell(&s->format, fmt, sizeof fmt);
    bool ok = rc == 0 && r.status == NFI_THR_FOUND && r.monotone &&
              mpfr_equal_p(r.yes_margin, expect_yes) &&
              mpfr_equal_p(r.no_margin, expect_no);
    if (!check_true(ok, "%s, %s, scheme %s, K=%zu", what, fmt,
                    nfi_ce_scheme_name(s->scheme), k))
        mpfr_fprintf(stderr, "  got yes %Ra no %Ra (status %d, monotone "
                     "%d); expected yes %Ra no %Ra\n", r.yes_margin,
                     r.no_margin, (int)r.status, (int)r.monotone,
                     expect_yes, expect_no);
    nfi_thr_result_clear(&r);
    mpfr_clear(zy);
}

static void test_one_competitor(void)
{
    static const char *const specs[] = {"binary32", "binary64",
                                        "bfloat16", "binary16", "e4m3",
                                        "e5m2", "binary128"};
    static const char *const orders[] = {"sequential", "pairwise",
                                         "lanes:8", "exact"};
    mpfr_t t, u, yes, no;
    mpfr_inits2(WORK_PREC, t, u, yes, no, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f = harness_format(specs[i]);
        /* T1 = p ln 2 - ln(1 + 2^-p) */
        mpfr_set_prec(t, WORK_PREC);
        mpfr_const_log2(t, MPFR_RNDN);
        mpfr_mul_si(t, t, f.p, MPFR_RNDN);
        mpfr_set_si_2exp(u, 1, -f.p, MPFR_RNDN);
        mpfr_log1p(u, u, MPFR_RNDN);
        mpfr_sub(t, t, u, MPFR_RNDN);
        round_up_into(&f, t, yes, no);
        if (i == 0)
            check_true(mpfr_get_d(yes, MPFR_RNDN) == 0x1.0a2b24p+4,
                       "binary32: the boundary is 0x1.0a2b24p+4");
        for (int scheme = 0; scheme < 3; scheme++)
            for (size_t o = 0; o < 4; o++) {
                nfi_pred_spec s = {.format = f, .mode = NFI_ROUND_RNE,
                                   .scheme = (nfi_ce_scheme)scheme,
                                   .order = order_of(orders[o]),
                                   .batch = 1};
                check_boundary("one competitor", &s, NFI_THR_ABSORBED, 2,
                               NFI_THR_LABEL_LAST, yes, no);
            }
    }
    mpfr_clears(t, u, yes, no, (mpfr_ptr)0);
}

static void test_many_exact(void)
{
    static const char *const specs[] = {"binary32", "bfloat16",
                                        "binary16", "binary64"};
    static const size_t ks[] = {3, 23, 97, 1000};
    mpfr_t t, w, yes, no;
    mpfr_inits2(WORK_PREC, t, w, yes, no, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f = harness_format(specs[i]);
        for (size_t ki = 0; ki < 4; ki++) {
            size_t k = ks[ki];
            /* w = RD(2^-p / (K-1)) on the format's grid (subnormal in
             * binary16 for K = 97: 2^-11 / 96 < 2^-14), then T2.  RD to
             * binary64 first and truncation onto the format's grid
             * compose to RD, the grid being a subset of binary64's. */
            mpfr_set_si_2exp(t, 1, -f.p, MPFR_RNDN);
            mpfr_div_ui(t, t, (unsigned long)(k - 1), MPFR_RNDN);
            double wd = truncate_to_format(&f, mpfr_get_d(t, MPFR_RNDD));
            mpfr_set_d(t, wd, MPFR_RNDN);
            mpfr_set_d(w, format_ulp(&f, wd), MPFR_RNDN);
            mpfr_div_2ui(w, w, 1, MPFR_RNDN);
            mpfr_add(t, t, w, MPFR_RNDN); /* the midpoint above w, exact */
            mpfr_log(t, t, MPFR_RNDN);
            mpfr_neg(t, t, MPFR_RNDN);
            round_up_into(&f, t, yes, no);
            for (int scheme = 0; scheme < 3; scheme++) {
                nfi_pred_spec s = {.format = f, .mode = NFI_ROUND_RNE,
                                   .scheme = (nfi_ce_scheme)scheme,
                                   .order = order_of("exact"),
                                   .batch = 1};
                check_boundary("K-1 competitors, exact sum", &s,
                               NFI_THR_ABSORBED, k, NFI_THR_LABEL_LAST,
                               yes, no);
            }
        }
    }
    mpfr_clears(t, w, yes, no, (mpfr_ptr)0);
}

static void test_underflow(void)
{
    static const char *const specs[] = {"binary32", "bfloat16",
                                        "binary16", "binary64",
                                        "binary32,subnormals=off",
                                        "binary16,subnormals=off"};
    mpfr_t t, yes, no;
    mpfr_inits2(WORK_PREC, t, yes, no, (mpfr_ptr)0);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f = harness_format(specs[i]);
        mpfr_const_log2(t, MPFR_RNDN);
        mpfr_mul_si(t, t, f.subnormals ? f.p - f.emin : 1 - f.emin,
                    MPFR_RNDN);
        round_up_into(&f, t, yes, no);
        for (int scheme = 0; scheme < 3; scheme++) {
            nfi_pred_spec s = {.format = f, .mode = NFI_ROUND_RNE,
                               .scheme = (nfi_ce_scheme)scheme,
                               .order = order_of("sequential"),
                               .batch = 1};
            check_boundary("wrong classes underflow", &s,
                           NFI_THR_WRONG_ZERO, 5, NFI_THR_LABEL_LAST, yes,
                           no);
        }
    }
    mpfr_clears(t, yes, no, (mpfr_ptr)0);
}

/* Every reported boundary flips the predicate: it holds at the smallest
 * "yes" margin and fails at the largest "no" margin, in every
 * deterministic mode. */
static void test_flip(void)
{
    static const char *const specs[] = {"binary32", "bfloat16", "binary16",
                                        "e4m3", "binary64"};
    static const char *const orders[] = {"sequential", "pairwise",
                                         "lanes:8", "blocked:4", "exact"};
    static const double logits[] = {0.0, 1.0, 10.0, 100.0, -3.0};
    static const nfi_round modes[] = {NFI_ROUND_RNE, NFI_ROUND_RZ,
                                      NFI_ROUND_RU, NFI_ROUND_RD};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        nfi_format f = harness_format(specs[i]);
        for (int scheme = 0; scheme < 3; scheme++)
            for (size_t o = 0; o < 5; o++)
                for (size_t l = 0; l < 5; l++)
                    for (int ev = 0; ev < 2; ev++) {
                        nfi_pred_spec s = {
                            .format = f, .mode = modes[(o + l) % 4],
                            .scheme = (nfi_ce_scheme)scheme,
                            .order = order_of(orders[o]), .batch = 1};
                        size_t k = (o + l) % 2 ? 23 : 10;
                        nfi_thr_label lab = l % 2 ? NFI_THR_LABEL_FIRST
                                                  : NFI_THR_LABEL_LAST;
                        size_t y = lab == NFI_THR_LABEL_FIRST ? 0 : k - 1;
                        mpfr_t zy, z[23];
                        mpfr_init2(zy, f.p);
                        mpfr_set_d(zy, logits[l], MPFR_RNDN);
                        nfi_thr_result r;
                        nfi_thr_result_init(&r);
                        nfi_error err;
                        int rc = nfi_thr_search(&s, (nfi_thr_event)ev, k,
                                                lab, zy, &r, &err);
                        if (!check_true(rc == 0, "search failed: %s",
                                        err.message)) {
                            nfi_thr_result_clear(&r);
                            mpfr_clear(zy);
                            continue;
                        }
                        for (size_t j = 0; j < k; j++)
                            mpfr_init2(z[j], f.p);
                        for (int side = 0; side < 2; side++) {
                            mpfr_srcptr c = side ? r.no_comp : r.yes_comp;
                            if (mpfr_nan_p(c))
                                continue;
                            for (size_t j = 0; j < k; j++)
                                mpfr_set(z[j], j == y ? zy : c,
                                         MPFR_RNDN);
                            nfi_pred_outcome out;
                            nfi_pred_eval(&s, k, z, y, NULL, &out, NULL);
                            bool h = ev == NFI_THR_ABSORBED
                                         ? out.absorbed : out.wrong_zero;
                            check_true(h == !side,
                                       "%s %s %s z_y=%g K=%zu event %d: "
                                       "predicate %d on the %s side",
                                       specs[i],
                                       nfi_ce_scheme_name(s.scheme),
                                       orders[o], logits[l], k, ev, h,
                                       side ? "no" : "yes");
                        }
                        /* Rounding up, exp(c) > 0 never rounds to 0
                         * and 1 + exp(c) never to 1: no boundary. */
                        bool up = s.mode == NFI_ROUND_RU;
                        check_true((r.status == NFI_THR_NEVER) == up,
                                   "%s %s: a boundary exists unless "
                                   "rounding up (status %d)", specs[i],
                                   nfi_round_name(s.mode), (int)r.status);
                        for (size_t j = 0; j < k; j++)
                            mpfr_clear(z[j]);
                        nfi_thr_result_clear(&r);
                        mpfr_clear(zy);
                    }
    }
}

static void test_errors(void)
{
    nfi_pred_spec s = {.format = harness_format("binary16"),
                       .mode = NFI_ROUND_RNE, .scheme = NFI_CE_LSE,
                       .order = order_of("sequential"), .batch = 1};
    mpfr_t zy;
    mpfr_init2(zy, 53);
    mpfr_set_d(zy, 0.1, MPFR_RNDN);
    nfi_thr_result r;
    nfi_thr_result_init(&r);
    nfi_error err;
    check_true(nfi_thr_search(&s, NFI_THR_ABSORBED, 2, NFI_THR_LABEL_LAST,
                              zy, &r, &err) != 0,
               "a correct logit off the grid is refused");
    mpfr_set_d(zy, 0.0, MPFR_RNDN);
    check_true(nfi_thr_search(&s, NFI_THR_ABSORBED, 1, NFI_THR_LABEL_LAST,
                              zy, &r, &err) != 0, "K = 1 is refused");
    nfi_thr_result_clear(&r);
    mpfr_clear(zy);
}

int main(void)
{
    harness_init("test_threshold", 0x746872ULL);
    test_one_competitor();
    test_many_exact();
    test_underflow();
    test_flip();
    test_errors();
    return harness_finish();
}
