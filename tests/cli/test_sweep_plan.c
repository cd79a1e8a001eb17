/* The pure parts of nfi sweep: the run list and its names, the shard
 * rule, sweep.json written, compared and read back, a summary row read
 * from a run directory made by hand (every figure worked out below),
 * and summary.csv of that row byte for byte. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"
#include "trace/atomic.h"

static int failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            failures++;                                                   \
            printf("FAIL line %d: ", __LINE__);                           \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

static char *s(const char *t)
{
    return strdup(t);
}

/* p = 8..12 step 2 (8, 10, 12), lr in {0.01, 0.02}, seed in {0, 1, 2}. */
static void make_args(sweep_args *a)
{
    memset(a, 0, sizeof *a);
    a->n_train = 2;
    a->train = calloc(2, sizeof *a->train);
    a->train[0] = s("--steps");
    a->train[1] = s("300");
    a->mantissa = true;
    a->p_lo = 8;
    a->p_hi = 12;
    a->p_step = 2;
    a->emin = -126;
    a->emax = 127;
    a->n_vary = 2;
    a->vary = calloc(2, sizeof *a->vary);
    a->vary[0].name = s("lr");
    a->vary[0].n = 2;
    a->vary[0].values = calloc(2, sizeof(char *));
    a->vary[0].values[0] = s("0.01");
    a->vary[0].values[1] = s("0.02");
    a->vary[1].name = s("policy");
    a->vary[1].n = 3;
    a->vary[1].values = calloc(3, sizeof(char *));
    a->vary[1].values[0] = s("logits=binary64");
    a->vary[1].values[1] = s("accum=p=30,emin=-126,emax=127");
    a->vary[1].values[2] = s("x/y");
    a->shard_n = 1;
}

static void test_plan(void)
{
    sweep_args a;
    make_args(&a);
    sweep_plan plan;
    nfi_error err;
    CHECK(sweep_plan_make(&a, &plan, &err) == 0, "plan: %s", err.message);
    CHECK(plan.n == 3 * 2 * 3, "%zu runs", plan.n);
    /* Formats slowest, then lr, then policy. */
    for (size_t i = 0; i < plan.n; i++) {
        const sweep_run *r = &plan.runs[i];
        CHECK(r->index == i, "index");
        CHECK(r->p == 8 + 2 * (long)(i / 6), "run %zu p %ld", i, r->p);
        CHECK(r->value[0] == (i / 3) % 2 && r->value[1] == i % 3,
              "run %zu values %zu %zu", i, r->value[0], r->value[1]);
        CHECK(r->emin == -126 && r->emax == 127, "range");
        for (const char *c = r->name; *c; c++)
            CHECK(*c != '/' && *c != ',' && *c != ' ', "name %s", r->name);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(plan.runs[j].name, r->name) != 0, "unique");
    }
    CHECK(strcmp(plan.runs[0].name, "000-p8-lr=0.01-policy=logits="
                 "binary64") == 0, "name 0: %s", plan.runs[0].name);
    CHECK(strcmp(plan.runs[17].name, "017-p12-lr=0.02-policy=x_y") == 0,
          "name 17: %s", plan.runs[17].name);
    CHECK(strcmp(plan.runs[4].name, "004-p8-lr=0.02-policy=accum=p=30_"
                 "emin=-126_emax=127") == 0, "name 4: %s",
          plan.runs[4].name);
    CHECK(strcmp(plan.runs[6].format, "p=10,emin=-126,emax=127") == 0,
          "format %s", plan.runs[6].format);

    /* Shards: every run in exactly one, for N = 1..5. */
    for (long n = 1; n <= 5; n++)
        for (size_t i = 0; i < plan.n; i++) {
            int in = 0;
            for (long k = 0; k < n; k++)
                in += sweep_in_shard(i, k, n);
            CHECK(in == 1, "run %zu in %d of %ld shards", i, in, n);
            CHECK(sweep_in_shard(i, (long)(i % (size_t)n), n),
                  "rule index mod N");
        }

    /* sweep.json: written, the same, a change named, read back. */
    char dir[] = "/tmp/nfi-sweep-unit-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    CHECK(sweep_json_write(dir, &a, &plan, &err) == 0, "%s", err.message);
    char path[256], diff[2200];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    CHECK(sweep_json_same(path, &a, false, diff, sizeof diff, &err) == 1,
          "the same sweep");
    free(a.vary[0].values[1]);
    a.vary[0].values[1] = s("0.03");
    CHECK(sweep_json_same(path, &a, false, diff, sizeof diff, &err) == 0 &&
          strstr(diff, "vary") != NULL && strstr(diff, "0.02") != NULL &&
          strstr(diff, "0.03") != NULL, "change of lr: %s", diff);
    free(a.vary[0].values[1]);
    a.vary[0].values[1] = s("0.02");
    a.shard_i = 1;
    a.shard_n = 3;
    CHECK(sweep_json_same(path, &a, false, diff, sizeof diff, &err) == 0 &&
          strstr(diff, "shard") != NULL, "shard differs: %s", diff);
    CHECK(sweep_json_same(path, &a, true, diff, sizeof diff, &err) == 1,
          "shard ignored");
    sweep_args b;
    CHECK(sweep_json_read(path, &b, &err) == 0, "read: %s", err.message);
    a.shard_i = 0;
    a.shard_n = 1;
    CHECK(sweep_json_same(path, &b, false, diff, sizeof diff, &err) == 1,
          "read back: %s", diff);
    CHECK(b.mantissa && b.p_lo == 8 && b.p_hi == 12 && b.p_step == 2 &&
          b.n_vary == 2 && b.vary[1].n == 3 &&
          strcmp(b.vary[1].values[1], "accum=p=30,emin=-126,emax=127") ==
          0 && b.n_train == 2, "fields read back");
    sweep_args_free(&b);
    unlink(path);
    rmdir(dir);
    sweep_plan_free(&plan, a.n_vary);
    sweep_args_free(&a);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    nfi_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (nfi_atomic_write_file(path, text, strlen(text), &err) != 0)
        printf("cannot write %s: %s\n", path, err.message);
}

static void test_row(void)
{
    char dir[] = "/tmp/nfi-sweep-row-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char run[256];
    snprintf(run, sizeof run, "%s/runs", dir);
    mkdir(run, 0777);
    snprintf(run, sizeof run, "%s/runs/000-p8", dir);
    mkdir(run, 0777);
    put(run, "status", "complete\n60 steps\n");
    /* Onset at 20 (absorbed 0.25); a spike at 40 (2.0 >= 10 * 0.1, the
     * minimum before it); the loss falls to 0.05 and spikes again at 60
     * (1.0 >= 10 * 0.05): two spike starts.  Growth window 20..40:
     * w_mean_norm 32 / 2 = 16. */
    put(run, "metrics.csv",
        "step,loss,absorbed_frac,w_mean_norm,feat_mean_norm\n"
        "1,2.0,0.0,1.0,1.0\n"
        "10,1.0,0.0,1.0,1.0\n"
        "20,0.5,0.25,2.0,1.0\n"
        "30,0.1,0.5,8.0,1.0\n"
        "40,2.0,0.5,32.0,1.0\n"
        "50,0.05,0.125,16.0,1.0\n"
        "60,1.0,0.0,16.0,1.0\n");
    sweep_row r;
    nfi_error err;
    CHECK(sweep_row_read(run, &r, &err) == 0, "row: %s", err.message);
    CHECK(r.present && strcmp(r.status, "complete") == 0, "status %s",
          r.status);
    CHECK(r.onset == 20, "onset %ld", r.onset);
    CHECK(r.max_absorbed == 0.5, "max absorbed %g", r.max_absorbed);
    CHECK(r.growth == 16.0, "growth %g", r.growth);
    CHECK(r.first_spike == 40 && r.spikes == 2, "spikes %ld %ld",
          r.first_spike, r.spikes);
    volatile double two = 2.0, tenth = 0.1;
    CHECK(r.spike_ratio == two / tenth, "ratio %.17g", r.spike_ratio);
    CHECK(r.final_loss == 1.0 && r.last_step == 60, "final");
    CHECK(sweep_row_done(&r) && sweep_row_unstable(&r), "done, unstable");

    sweep_row m;
    CHECK(sweep_row_read("/nonexistent/nfi", &m, &err) == 0 && !m.present &&
          strcmp(m.status, "missing") == 0, "a missing run");

    /* summary.csv of a one-run sweep, byte for byte. */
    sweep_args a;
    memset(&a, 0, sizeof a);
    a.n_formats = 1;
    a.formats = calloc(1, sizeof *a.formats);
    a.formats[0] = s("p=8,emin=-126,emax=127");
    a.shard_n = 1;
    sweep_plan plan;
    CHECK(sweep_plan_make(&a, &plan, &err) == 0, "plan");
    CHECK(strcmp(plan.runs[0].name, "000-p=8_emin=-126_emax=127") == 0,
          "name %s", plan.runs[0].name);
    free(plan.runs[0].name);
    plan.runs[0].name = s("000-p8");
    bool listed = true;
    CHECK(sweep_summary_write(dir, &a, &plan, &r, &listed, NULL, &err) ==
          0, "summary: %s", err.message);
    char path[512];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    size_t len;
    char *text = nfi_read_file(path, &len, &err);
    char want[1024];
    snprintf(want, sizeof want,
             "run,format,p,emin,emax,onset_step,max_absorbed_frac,"
             "growth_rate,first_spike_step,spikes,spike_loss_ratio,"
             "final_loss,last_step,status,absorption,growth,spike\n"
             "000-p8,\"p=8,emin=-126,emax=127\",8,-126,127,20,0.5,16.0,40,"
             "2,%s,1.0,60,complete,yes,yes,yes\n",
             r.spike_ratio == 20.0 ? "20.0" : "19.999999999999996");
    CHECK(text != NULL && strcmp(text, want) == 0, "summary.csv:\n%s\n"
          "want:\n%s", text ? text : "(none)", want);
    free(text);
    snprintf(path, sizeof path, "%s/summary.md", dir);
    text = nfi_read_file(path, &len, &err);
    CHECK(text != NULL && strstr(text, "| 000-p8 | p=8,emin=-126,emax=127 "
                                 "| 8 | 20 | 0.5 | 16 | 40 | 2 | 1 | "
                                 "complete | yes | yes | yes |") != NULL,
          "summary.md row:\n%s", text ? text : "(none)");
    free(text);
    sweep_plan_free(&plan, 0);
    sweep_args_free(&a);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        printf("note: cannot remove %s\n", dir);
}

/* The order of the workers' runs: the costliest formats first, equal
 * costs in index order, over a list where they are mixed. */
static void test_order(void)
{
    sweep_args a;
    memset(&a, 0, sizeof a);
    const char *given[] = {"p=12,emin=-126,emax=127", "binary32",
                           "p=40,emin=-126,emax=127",
                           "p=26,emin=-14,emax=15",
                           "p=60,emin=-126,emax=127", "bfloat16", "binary64",
                           "p=25,emin=-126,emax=127"};
    /* the expected costs, and the order they give */
    const int cost[] = {2, 1, 4, 4, 32, 2, 1, 2};
    const size_t order[] = {4, 2, 3, 0, 5, 7, 1, 6};
    size_t n = sizeof given / sizeof *given;
    a.n_formats = n;
    a.formats = calloc(n, sizeof *a.formats);
    for (size_t i = 0; i < n; i++)
        a.formats[i] = s(given[i]);
    a.shard_n = 1;
    sweep_plan plan;
    nfi_error err;
    CHECK(sweep_plan_make(&a, &plan, &err) == 0, "plan: %s", err.message);
    size_t idx[8];
    for (size_t i = 0; i < n && plan.n == n; i++) {
        CHECK(plan.runs[i].cost == cost[i], "%s: cost %d, expected %d",
              given[i], plan.runs[i].cost, cost[i]);
        idx[i] = i;
    }
    if (plan.n == n) {
        sweep_order_longest_first(&plan, idx, n);
        for (size_t i = 0; i < n; i++)
            CHECK(idx[i] == order[i], "place %zu: run %zu, expected %zu",
                  i, idx[i], order[i]);
    }
    /* A shard's share (every other run) keeps the same rule. */
    size_t half[4] = {0, 2, 4, 6};
    if (plan.n == n) {
        sweep_order_longest_first(&plan, half, 4);
        CHECK(half[0] == 4 && half[1] == 2 && half[2] == 0 && half[3] == 6,
              "shard order %zu %zu %zu %zu", half[0], half[1], half[2],
              half[3]);
    }
    sweep_plan_free(&plan, 0);
    sweep_args_free(&a);
}

int main(void)
{
    test_plan();
    test_order();
    test_row();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
