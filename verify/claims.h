/* nfi verify: the claims of the absorption mechanism (C1 to C7), checked
 * on a run directory and, for C7, on control runs from the same start.
 *
 * Every claim ends PASS, FAIL or N/A (the data it needs are missing or
 * it does not apply, with the reason), and carries the figures behind
 * the verdict, each named, the thresholds it applied among them.  A
 * claim that fails is a result, not an error: the functions fail only
 * when a run directory cannot be read.  The library never prints.
 *
 * Windows are found in the logged rows (metrics.csv), never given:
 *   onset       the first logged step whose absorbed_frac exceeds
 *               NFI_V_ONSET_LEVEL (0: summary.json's absorption_onset);
 *   end spike   the first logged step after the onset that is a spike by
 *               nfi_loss_is_spike (train/runlog.h: above the running
 *               minimum M of the earlier logged losses and at least
 *               10 max(M, 0)) and whose loss also exceeds the loss at
 *               the onset: a loss back above where absorption began.  A
 *               loss that rises from 0 to a few ulps of 0 is a spike by
 *               the rule alone; the second condition keeps such steps
 *               from closing the window;
 *   growth window  the logged steps from the onset to the end spike
 *               (both included), or to the last logged step when there is
 *               no end spike.
 * The operational definition of each claim is in verify/README.md and
 * in the statement each claim carries. */
#ifndef NFI_VERIFY_CLAIMS_H
#define NFI_VERIFY_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Thresholds, each reported by the claims that apply it. */
#define NFI_V_ONSET_LEVEL 0.0       /* onset: absorbed_frac above this */
#define NFI_V_GROWTH_MIN 10.0       /* C5, C7: growth by this factor */
#define NFI_V_RATE_CHANGE 2.0       /* C5: local rate rises (falls) when
                                       the last third's is at least (at
                                       most 1/) this times the first's */
#define NFI_V_REAPPEAR_DROP 0.1     /* C6: absorbed_frac falls by this */
#define NFI_V_CONTROL_ABSORBED 0.01 /* C7: no window: absorbed_frac at
                                       most this */
#define NFI_V_C3_REL_EXP 3          /* C3: relative tolerance 2^(3-p) */
#define NFI_V_C4_REL_TOL 0.1        /* C4, SGD: relative difference */
#define NFI_V_C4_COS_MIN 0.9        /* C4, Adam: cosine at least this */

typedef enum nfi_verdict {
    NFI_VERDICT_PASS,
    NFI_VERDICT_FAIL,
    NFI_VERDICT_NA
} nfi_verdict;

/* "PASS", "FAIL" or "N/A". */
const char *nfi_verdict_name(nfi_verdict v);

/* One named figure: a number, or a text when text[0] != 0. */
typedef struct nfi_claim_fig {
    char name[48];
    double value;
    char text[200];
    bool threshold;   /* a threshold the check applied */
} nfi_claim_fig;

#define NFI_CLAIM_FIGS 48

typedef struct nfi_claim {
    const char *id;         /* "C1" .. "C7" */
    const char *name;       /* "threshold", "window", ... */
    const char *statement;  /* the claim as checked, in words */
    nfi_verdict verdict;
    char evidence[1024];    /* the figures behind the verdict, in words */
    size_t nfig;
    nfi_claim_fig fig[NFI_CLAIM_FIGS];
} nfi_claim;

#define NFI_CLAIMS 7

typedef struct nfi_verify_report {
    nfi_claim claim[NFI_CLAIMS];  /* C1 .. C7 in order */
    long onset;                   /* window steps; -1: none */
    long window_end;
    long spike;                   /* the end spike; -1: none */
    size_t logged_steps;
} nfi_verify_report;

/* Checks C1 to C7 on the run directory dir, with the control runs
 * controls[0 .. ncontrols) for C7 (none: C7 is N/A).  Returns 0 with
 * *out filled; or -1 with err naming the directory or file that cannot
 * be read (config.json, metrics.csv, train_labels.npy, a step's
 * samples.npy or logits.npy when present but damaged). */
int nfi_verify_claims(const char *dir, const char *const *controls,
                      size_t ncontrols, nfi_verify_report *out,
                      nfi_error *err);

#endif
