/* Tests of train/checkpoint: a run continued from a checkpoint equals
 * the uninterrupted run bit for bit.
 *
 * 1. Resume equals uninterrupted: for Adam, AdamW, SGD with momentum and
 *    without, round to nearest and stochastic rounding, a mixed policy
 *    and the MPFR reference twin: K steps, a checkpoint, a fresh trainer
 *    loads it and runs to M; every parameter, both moments, the steps,
 *    each role's stochastic-rounding counter and the measurements of
 *    the continued steps equal those of one run of M steps.  A
 *    checkpoint of the fast trainer continues in the twin identically.
 * 2. The counters matter: under stochastic rounding, the same
 *    continuation with the counters reset differs (the test would see a
 *    checkpoint that forgot them).
 * 3. Damage is detected with the file named, and the trainer is left
 *    as it was: a flipped byte, a truncated array, a missing array, a
 *    changed counter, a truncated state.json, a checkpoint of another
 *    run (seed, optimizer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fixture.h"
#include "harness.h"
#include "trace/json.h"
#include "trace/trace_util.h"
#include "trainer.h"

#define P FIXTURE_P

static nfi_samples train_set, test_set;

typedef struct run_case {
    const char *name;
    const char *base, *overrides, *order;
    nfi_ce_scheme scheme;
    nfi_round mode;
    nfi_optim_config optim;
    bool reference;
    int k, m;          /* checkpoint after k steps, compare after m */
} run_case;

static nfi_train_spec spec_of(const run_case *c)
{
    nfi_train_spec s;
    memset(&s, 0, sizeof s);
    s.input_width = 2 * P;
    s.hidden = 16;
    s.layers = 2;
    s.classes = P;
    s.classifier_bias = true;
    nfi_error err;
    if (nfi_policy_parse(c->base, c->overrides, &s.policy, &err) != 0 ||
        nfi_reduction_parse(c->order, &s.order, &err) != 0)
        check_true(false, "%s: spec: %s", c->name, err.message);
    s.mode = c->mode;
    s.scheme = c->scheme;
    s.optim = c->optim;
    s.seed = 11;
    s.reference = c->reference;
    return s;
}

/* Steps that measure (and so evaluate the test set): as nfi train logs,
 * step 1 and every 4th. */
static bool measured(long step)
{
    return step == 1 || step % 4 == 0;
}

/* Runs t to step `to`; the measurements of each step land in m[step]. */
static void run_to(nfi_trainer *t, long to, nfi_step_metrics *m)
{
    while (t->step < to) {
        long step = t->step + 1;
        nfi_error err;
        memset(&m[step], 0, sizeof m[step]);
        if (nfi_trainer_step(t, measured(step) ? &m[step] : NULL, NULL,
                             &err) != 0) {
            check_true(false, "step %ld: %s", step, err.message);
            return;
        }
    }
}

static bool same_array(const double *a, const double *b, size_t n,
                       size_t *where)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], sizeof a[i]) != 0) {
            *where = i;
            return false;
        }
    }
    return true;
}

/* Everything a checkpoint carries, compared bit for bit. */
static bool same_state(const char *name, nfi_trainer *a, nfi_trainer *b,
                       bool report)
{
    size_t n, nb, at = 0;
    double *pa = nfi_trainer_params(a, &n), *pb = nfi_trainer_params(b, &nb);
    bool ok = true;
    if (n != nb || !same_array(pa, pb, n, &at)) {
        ok = false;
        if (report)
            check_true(false, "%s: parameter %zu differs: %a and %a", name,
                       at, pa[at], pb[at]);
    }
    if (!same_array(a->optim.m, b->optim.m, n, &at)) {
        ok = false;
        if (report)
            check_true(false, "%s: first moment %zu differs: %a and %a",
                       name, at, a->optim.m[at], b->optim.m[at]);
    }
    if (!same_array(a->optim.v, b->optim.v, n, &at)) {
        ok = false;
        if (report)
            check_true(false, "%s: second moment %zu differs: %a and %a",
                       name, at, a->optim.v[at], b->optim.v[at]);
    }
    if (a->step != b->step || a->optim.step != b->optim.step) {
        ok = false;
        if (report)
            check_true(false, "%s: steps %ld/%ld and %ld/%ld", name,
                       a->step, a->optim.step, b->step, b->optim.step);
    }
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        uint64_t ca = a->roles.arith[r].fast.counter;
        uint64_t cb = b->roles.arith[r].fast.counter;
        if (ca != cb) {
            ok = false;
            if (report)
                check_true(false, "%s: %s counter %llu and %llu", name,
                           nfi_role_name((nfi_role)r),
                           (unsigned long long)ca, (unsigned long long)cb);
        }
    }
    return ok;
}

static void test_resume(const run_case *c, bool twin_too)
{
    nfi_train_spec s = spec_of(c);
    nfi_trainer whole, first, second;
    nfi_error err;
    nfi_step_metrics mw[64], mc[64];
    if (nfi_trainer_init(&whole, &s, train_set, test_set, &err) != 0) {
        check_true(false, "%s: %s", c->name, err.message);
        return;
    }
    run_to(&whole, c->m, mw);

    nfi_trainer_init(&first, &s, train_set, test_set, &err);
    run_to(&first, c->k, mc);
    char *dir = temp_dir_make("ckpt");
    check_true(nfi_checkpoint_save(&first, dir, &err) == 0,
               "%s: save: %s", c->name, err.message);
    if (c->mode == NFI_ROUND_SR)
        check_true(first.roles.arith[NFI_ROLE_ACCUM].fast.counter > 0,
                   "%s: stochastic rounding took indices", c->name);
    nfi_trainer_free(&first);

    nfi_trainer_init(&second, &s, train_set, test_set, &err);
    bool loaded = nfi_checkpoint_load(&second, dir, &err) == 0;
    check_true(loaded, "%s: load: %s", c->name, err.message);
    if (loaded) {
        check_true(second.step == c->k, "%s: loaded step %ld", c->name,
                   second.step);
        run_to(&second, c->m, mc);
        check_true(same_state(c->name, &whole, &second, true),
                   "%s: resumed at %d equals uninterrupted at %d", c->name,
                   c->k, c->m);
        bool same = true;
        for (long st = c->k + 1; st <= c->m; st++)
            if (measured(st) && !fixture_same_metrics(&mw[st], &mc[st]))
                same = false;
        check_true(same, "%s: measurements after the resume", c->name);
    }
    nfi_trainer_free(&second);

    if (c->mode == NFI_ROUND_SR) {
        /* The same continuation with the counters forgotten. */
        nfi_trainer_init(&second, &s, train_set, test_set, &err);
        nfi_checkpoint_load(&second, dir, &err);
        for (int r = 0; r < NFI_ROLE_COUNT; r++)
            second.roles.arith[r].fast.counter = 0;
        run_to(&second, c->m, mc);
        check_true(!same_state(c->name, &whole, &second, false),
                   "%s: resetting the counters changes the run", c->name);
        nfi_trainer_free(&second);
    }

    if (twin_too) {
        /* The fast trainer's checkpoint continues in the MPFR twin. */
        nfi_train_spec ref = s;
        ref.reference = true;
        nfi_trainer_init(&second, &ref, train_set, test_set, &err);
        check_true(nfi_checkpoint_load(&second, dir, &err) == 0,
                   "%s: load into the twin: %s", c->name, err.message);
        run_to(&second, c->m, mc);
        check_true(same_state(c->name, &whole, &second, true),
                   "%s: fast checkpoint continued by the twin", c->name);
        nfi_trainer_free(&second);
    }
    temp_dir_remove(dir);
    nfi_trainer_free(&whole);
}

/* ---- Damage ---- */

static void rewrite(const char *path, void (*edit)(char *, size_t *))
{
    size_t len;
    char *text = file_read(path, &len);
    if (text == NULL) {
        check_true(false, "cannot read %s", path);
        return;
    }
    text = realloc(text, len + 64);
    edit(text, &len);
    file_write(path, text, len);
    free(text);
}

static void flip_last_byte(char *s, size_t *len) { s[*len - 1] ^= 0x01; }
static void cut_half(char *s, size_t *len) { (void)s; *len /= 2; }
static void cut_8(char *s, size_t *len) { (void)s; *len -= 8; }

/* Changes the last digit of the accum counter in state.json. */
static void bump_counter(char *s, size_t *len)
{
    char *at = strstr(s, "\"sr_counters\"");
    at = at ? strstr(at, "\"accum\": \"") : NULL;
    if (at == NULL) {
        check_true(false, "state.json has no accum counter");
        return;
    }
    at += strlen("\"accum\": \"");
    while (at[1] >= '0' && at[1] <= '9')
        at++;
    *at = *at == '9' ? '8' : (char)(*at + 1);
    (void)len;
}

static void test_damage(void)
{
    run_case c = {"damage", "binary32", "", "sequential", NFI_CE_LOGSOFTMAX,
                  NFI_ROUND_SR,
                  {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0}, false, 5,
                  5};
    nfi_train_spec s = spec_of(&c);
    nfi_trainer a, b;
    nfi_error err;
    nfi_step_metrics m[16];
    nfi_trainer_init(&a, &s, train_set, test_set, &err);
    run_to(&a, 5, m);
    nfi_trainer_init(&b, &s, train_set, test_set, &err);
    size_t n;
    double *pb = nfi_trainer_params(&b, &n);
    double *orig = malloc(n * sizeof *orig);
    memcpy(orig, pb, n * sizeof *orig);
    char *dir = temp_dir_make("damage");

    /* state.json: the counters are decimal strings, the files listed. */
    nfi_checkpoint_save(&a, dir, &err);
    nfi_json_value *root = nfi_json_parse_file(path_in(dir, "state.json"),
                                               &err);
    const nfi_json_value *cs = root ? nfi_json_get(root, "sr_counters")
                                    : NULL;
    const nfi_json_value *acc = cs ? nfi_json_get(cs, "accum") : NULL;
    check_true(acc != NULL && nfi_json_type_of(acc) == NFI_JSON_STRING,
               "state.json: counters as strings");
    check_true(root != NULL && nfi_json_length(nfi_json_get(root, "files"))
                   == 3, "state.json: Adam lists three arrays");
    nfi_json_free(root);

    static const struct {
        const char *file;
        void (*edit)(char *, size_t *);
        const char *expect1, *expect2;
    } cases[] = {
        {"optim_m.npy", flip_last_byte, "optim_m.npy", "CRC-32"},
        {"params.npy", cut_8, "params.npy", "truncated"},
        {"optim_v.npy", NULL, "optim_v.npy", "missing"},
        {"state.json", bump_counter, "state.json", "state_crc32"},
        {"state.json", cut_half, "state.json", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nfi_checkpoint_save(&a, dir, &err);
        const char *path = path_in(dir, cases[i].file);
        if (cases[i].edit != NULL)
            rewrite(path, cases[i].edit);
        else
            remove(path);
        memset(&err, 0, sizeof err);
        int rc = nfi_checkpoint_load(&b, dir, &err);
        check_true(rc == -1 && strstr(err.message, cases[i].expect1) &&
                       strstr(err.message, cases[i].expect2),
                   "damaged %s: %d '%s'", cases[i].file, rc, err.message);
        check_true(b.step == 0 && memcmp(pb, orig, n * sizeof *orig) == 0 &&
                       b.roles.arith[NFI_ROLE_ACCUM].fast.counter == 0,
                   "damaged %s: trainer left as it was", cases[i].file);
    }

    /* A checkpoint of another run. */
    nfi_checkpoint_save(&a, dir, &err);
    nfi_train_spec other = s;
    other.seed = 12;
    nfi_trainer o;
    nfi_trainer_init(&o, &other, train_set, test_set, &err);
    check_true(nfi_checkpoint_load(&o, dir, &err) == -1 &&
                   strstr(err.message, "seed") != NULL,
               "another seed refused: '%s'", err.message);
    nfi_trainer_free(&o);
    other = s;
    other.optim.kind = NFI_OPTIM_SGD;
    nfi_trainer_init(&o, &other, train_set, test_set, &err);
    check_true(nfi_checkpoint_load(&o, dir, &err) == -1 &&
                   strstr(err.message, "optimizer") != NULL,
               "another optimizer refused: '%s'", err.message);
    nfi_trainer_free(&o);
    other = s;
    other.hidden = 8;
    nfi_trainer_init(&o, &other, train_set, test_set, &err);
    check_true(nfi_checkpoint_load(&o, dir, &err) == -1 &&
                   strstr(err.message, "parameters") != NULL,
               "another model refused: '%s'", err.message);
    nfi_trainer_free(&o);
    check_true(nfi_checkpoint_load(&b, dir, &err) == 0 && b.step == 5,
               "the undamaged checkpoint loads: %s", err.message);

    temp_dir_remove(dir);
    free(orig);
    nfi_trainer_free(&a);
    nfi_trainer_free(&b);
}

static void test_crc(void)
{
    /* The check value of CRC-32/ISO-HDLC (zlib's crc32). */
    check_true(nfi_crc32(0, "123456789", 9) == 0xcbf43926u, "CRC-32 check");
    uint32_t part = nfi_crc32(0, "1234", 4);
    check_true(nfi_crc32(part, "56789", 5) == 0xcbf43926u,
               "CRC-32 continued");
}

int main(void)
{
    harness_init("test_checkpoint", 1);
    fixture_modular_add(&train_set, &test_set);
    test_crc();
    static const run_case cases[] = {
        {"adam binary32 rne", "binary32", "", "sequential",
         NFI_CE_LOGSOFTMAX, NFI_ROUND_RNE,
         {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0}, false, 7, 15},
        {"sgd momentum sr", "binary32", "", "sequential", NFI_CE_LSE,
         NFI_ROUND_SR, {NFI_OPTIM_SGD, 1e-1, 0.9, 0.999, 1e-8, 0, 0.9},
         false, 7, 15},
        {"adam mixed policy sr", "bfloat16",
         "accum=binary32,optim=binary32,logits=binary64", "lanes:8",
         NFI_CE_SOFTMAX, NFI_ROUND_SR,
         {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 1e-3, 0}, false, 9, 17},
        {"adamw p=20 pairwise", "p=20,emin=-126,emax=127", "optim=binary64",
         "pairwise", NFI_CE_LOGSOFTMAX, NFI_ROUND_RNE,
         {NFI_OPTIM_ADAMW, 1e-2, 0.9, 0.99, 1e-8, 1e-2, 0}, false, 4, 13},
        {"sgd plain sr decay", "binary16", "accum=binary32", "blocked:4",
         NFI_CE_LOGSOFTMAX, NFI_ROUND_SR,
         {NFI_OPTIM_SGD, 5e-2, 0.9, 0.999, 1e-8, 1e-3, 0}, false, 1, 9},
        {"adam sr twin", "bfloat16", "accum=binary32,optim=binary32",
         "sequential", NFI_CE_LSE, NFI_ROUND_SR,
         {NFI_OPTIM_ADAM, 1e-2, 0.9, 0.999, 1e-8, 0, 0}, true, 2, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_resume(&cases[i], i == 1);
    test_damage();
    return harness_finish();
}
