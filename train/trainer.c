/* nfi: the training step and its measurements.  See trainer.h. */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nfi_model_kind_name(nfi_model_kind kind)
{
    switch (kind) {
    case NFI_MODEL_MLP: return "mlp";
    case NFI_MODEL_UFM: return "ufm";
    }
    return "?";
}

int nfi_model_kind_parse(const char *name, nfi_model_kind *out,
                         nfi_error *err)
{
    if (strcmp(name, "mlp") == 0)
        *out = NFI_MODEL_MLP;
    else if (strcmp(name, "ufm") == 0)
        *out = NFI_MODEL_UFM;
    else
        return nfi_error_set(err, "unknown model '%s'; expected mlp or ufm",
                             name);
    return 0;
}

/* One set's samples as the trainer takes them: labels, and the operands
 * of one-hot pairs or the rows of real inputs. */
typedef struct sample_set {
    size_t n;
    const uint32_t *a, *b, *label;
    const double *x;      /* NULL: one-hot pairs */
} sample_set;

static int check_samples(const char *which, const sample_set *s,
                         const nfi_train_spec *spec, nfi_error *err)
{
    size_t width = spec->input_width, classes = spec->classes;
    if (spec->model == NFI_MODEL_UFM || s->x != NULL) {
        for (size_t i = 0; i < s->n; i++) {
            if (s->label[i] >= classes)
                return nfi_error_set(err, "%s sample %zu has label %u: "
                                     "labels must be below %zu", which, i,
                                     s->label[i], classes);
        }
    }
    if (spec->model == NFI_MODEL_UFM || s->n == 0)
        return 0;
    if (s->x != NULL) {
        for (size_t i = 0; i < s->n * width; i++) {
            if (!isfinite(s->x[i]))
                return nfi_error_set(err, "%s sample %zu: input value %zu "
                                     "is %g; inputs must be finite", which,
                                     i / width, i % width, s->x[i]);
        }
        return 0;
    }
    size_t p = width / 2;
    for (size_t i = 0; i < s->n; i++) {
        if (s->a[i] >= p || s->b[i] >= p || s->label[i] >= classes)
            return nfi_error_set(err, "%s sample %zu is (%u, %u) -> %u: "
                                 "operands must be below %zu and labels "
                                 "below %zu", which, i, s->a[i], s->b[i],
                                 s->label[i], p, classes);
    }
    return 0;
}

static int check_spec(const nfi_train_spec *spec, const sample_set *train,
                      const sample_set *test, nfi_error *err)
{
    if (train->n == 0)
        return nfi_error_set(err, "the training set is empty");
    if (spec->model != NFI_MODEL_MLP && spec->model != NFI_MODEL_UFM)
        return nfi_error_set(err, "unknown model kind %d", (int)spec->model);
    if (spec->model == NFI_MODEL_MLP) {
        if (train->x != NULL && spec->input_width == 0)
            return nfi_error_set(err, "input width 0: real inputs need a "
                                 "width >= 1");
        if (train->x == NULL &&
            (spec->input_width < 2 || spec->input_width % 2 != 0))
            return nfi_error_set(err, "input width %zu: one-hot pairs need "
                                 "an even width 2P >= 2",
                                 spec->input_width);
    }
    if (nfi_optim_config_check(&spec->optim, err) != 0)
        return -1;
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        if (spec->policy.format[r].round != NFI_ROUND_RNE)
            return nfi_error_set(err, "role %s: a format's round= option "
                                 "has no effect in training (every role "
                                 "rounds in the run's mode, --round); "
                                 "leave it out",
                                 nfi_role_name((nfi_role)r));
        if (!nfi_format_fits_binary64(&spec->policy.format[r]))
            return nfi_error_set(err, "role %s: training runs on formats "
                                 "inside binary64 (p <= 53, exponents "
                                 "within binary64's) for now",
                                 nfi_role_name((nfi_role)r));
    }
    if (check_samples("training", train, spec, err) != 0 ||
        check_samples("test", test, spec, err) != 0)
        return -1;
    return 0;
}

/* The mlp's parameters and batches. */
static int init_mlp(nfi_trainer *t, const sample_set *train,
                    const sample_set *test, nfi_error *err)
{
    const nfi_train_spec *spec = &t->spec;
    if (nfi_mlp_init(&t->model, spec->input_width, spec->hidden,
                     spec->layers, spec->classes, spec->classifier_bias,
                     err) != 0)
        return -1;
    nfi_mlp_init_params(&t->model, &t->roles, spec->seed);
    if (nfi_mlp_cache_init(&t->train_cache, &t->model, train->n,
                           err) != 0 ||
        nfi_mlp_cache_init(&t->test_cache, &t->model,
                           test->n ? test->n : 1, err) != 0)
        return -1;
    if (train->x != NULL) {
        nfi_mlp_real_inputs(&t->train_cache, &t->model, &t->roles,
                            train->x);
        if (test->n > 0)
            nfi_mlp_real_inputs(&t->test_cache, &t->model, &t->roles,
                                test->x);
    } else {
        nfi_mlp_one_hot(&t->train_cache, &t->model, train->a, train->b);
        if (test->n > 0)
            nfi_mlp_one_hot(&t->test_cache, &t->model, test->a, test->b);
    }
    return 0;
}

/* The ufm's parameters (one feature vector per training sample). */
static int init_ufm(nfi_trainer *t, nfi_error *err)
{
    const nfi_train_spec *spec = &t->spec;
    if (nfi_ufm_init(&t->ufm, t->train.n, spec->hidden, spec->classes,
                     spec->classifier_bias, err) != 0 ||
        nfi_ufm_init_params(&t->ufm, &t->roles, spec->seed, err) != 0)
        return -1;
    t->logits = calloc(t->train.n * spec->classes, sizeof *t->logits);
    if (t->logits == NULL)
        return nfi_error_set(err, "out of memory for the logits");
    return 0;
}

static int init(nfi_trainer *t, const nfi_train_spec *spec,
                const sample_set *train, const sample_set *test,
                nfi_error *err)
{
    memset(t, 0, sizeof *t);
    t->spec = *spec;
    t->train = (nfi_samples){train->n, train->a, train->b, train->label};
    t->test = (nfi_samples){test->n, test->a, test->b, test->label};
    if (check_spec(spec, train, test, err) != 0 ||
        nfi_roles_init(&t->roles, &spec->policy, spec->mode, spec->seed,
                       &spec->order, spec->reference, err) != 0)
        return -1;
    bool ufm = spec->model == NFI_MODEL_UFM;
    size_t n_params = 0;
    if ((ufm ? init_ufm(t, err) : init_mlp(t, train, test, err)) != 0 ||
        (nfi_trainer_params(t, &n_params),
         nfi_optim_state_init(&t->optim, n_params, err)) != 0) {
        nfi_trainer_free(t);
        return -1;
    }
    size_t k = spec->classes;
    size_t widest = spec->hidden > k ? spec->hidden : k;
    t->dlogits = calloc(train->n * k, sizeof *t->dlogits);
    t->grad = calloc(n_params, sizeof *t->grad);
    t->before = calloc(n_params, sizeof *t->before);
    t->scratch = calloc(2 * train->n * widest, sizeof *t->scratch);
    t->samples = calloc(train->n, sizeof *t->samples);
    if (t->dlogits == NULL || t->grad == NULL || t->before == NULL ||
        t->scratch == NULL || t->samples == NULL) {
        nfi_trainer_free(t);
        return nfi_error_set(err, "out of memory for the training buffers");
    }
    return 0;
}

int nfi_trainer_init(nfi_trainer *t, const nfi_train_spec *spec,
                     nfi_samples train, nfi_samples test, nfi_error *err)
{
    sample_set a = {train.n, train.a, train.b, train.label, NULL};
    sample_set b = {test.n, test.a, test.b, test.label, NULL};
    return init(t, spec, &a, &b, err);
}

int nfi_trainer_init_real(nfi_trainer *t, const nfi_train_spec *spec,
                          nfi_real_samples train, nfi_real_samples test,
                          nfi_error *err)
{
    /* The ufm does not read x: a NULL there must not mean one-hot. */
    static const double none[1];
    sample_set a = {train.n, NULL, NULL, train.label,
                    train.x != NULL ? train.x : none};
    sample_set b = {test.n, NULL, NULL, test.label,
                    test.x != NULL ? test.x : none};
    if (spec->model == NFI_MODEL_MLP &&
        ((train.n > 0 && train.x == NULL) || (test.n > 0 && test.x == NULL)))
    {
        memset(t, 0, sizeof *t);
        return nfi_error_set(err, "real samples without inputs (x NULL)");
    }
    return init(t, spec, &a, &b, err);
}

void nfi_trainer_free(nfi_trainer *t)
{
    nfi_mlp_free(&t->model);
    nfi_ufm_free(&t->ufm);
    nfi_optim_state_free(&t->optim);
    nfi_mlp_cache_free(&t->train_cache);
    nfi_mlp_cache_free(&t->test_cache);
    free(t->logits);
    free(t->dlogits);
    free(t->grad);
    free(t->before);
    free(t->scratch);
    free(t->samples);
    t->logits = t->dlogits = t->grad = t->before = t->scratch = NULL;
    t->samples = NULL;
}

double *nfi_trainer_params(nfi_trainer *t, size_t *n)
{
    if (t->spec.model == NFI_MODEL_UFM) {
        if (n != NULL)
            *n = t->ufm.n_params;
        return t->ufm.params;
    }
    if (n != NULL)
        *n = t->model.n_params;
    return t->model.params;
}

/* The training set's logits of the last forward pass. */
static const double *train_logits(const nfi_trainer *t)
{
    return nfi_trainer_train_logits(t);
}

const double *nfi_trainer_train_logits(const nfi_trainer *t)
{
    return t->spec.model == NFI_MODEL_UFM ? t->logits
                                          : t->train_cache.logits;
}

void nfi_trainer_step_view(const nfi_trainer *t, nfi_step_view *v)
{
    if (t->spec.model == NFI_MODEL_UFM) {
        const nfi_ufm *u = &t->ufm;
        v->width = u->d;
        v->features = t->before + u->offset_h;
        v->w_before = t->before + u->offset_w;
        v->w_after = u->params + u->offset_w;
        return;
    }
    const nfi_mlp *m = &t->model;
    v->width = m->hidden;
    v->features = nfi_mlp_features(m, &t->train_cache, 0);
    v->w_before = t->before + m->offset_w[m->layers];
    v->w_after = m->params + m->offset_w[m->layers];
}

/* Share of rows whose first largest logit is the label. */
static double accuracy(const double *logits, size_t n, size_t k,
                       const uint32_t *label)
{
    if (n == 0)
        return NAN;
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        const double *z = logits + i * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++) {
            if (z[j] > z[best])
                best = j;
        }
        right += best == label[i];
    }
    return (double)right / (double)n;
}

/* sqrt of the exact sum of squares of x[0..n-1]. */
static double norm(const double *x, size_t n)
{
    nfi_exact_sum s;
    nfi_exact_sum_init(&s);
    for (size_t i = 0; i < n; i++)
        nfi_exact_sum_add_product(&s, x[i], x[i]);
    double r = sqrt(nfi_exact_sum_get_d(&s));
    nfi_exact_sum_clear(&s);
    return r;
}

/* |(1/rows) sum_r x[r][.]|: exact column sums, then binary64. */
static double mean_row_norm(const double *x, size_t rows, size_t cols)
{
    double total = 0.0;
    for (size_t j = 0; j < cols; j++) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t r = 0; r < rows; r++)
            nfi_exact_sum_add(&s, x[r * cols + j]);
        double mean = nfi_exact_sum_get_d(&s) / (double)rows;
        total += mean * mean;
        nfi_exact_sum_clear(&s);
    }
    return sqrt(total);
}

static int measure(nfi_trainer *t, nfi_step_metrics *m)
{
    bool ufm = t->spec.model == NFI_MODEL_UFM;
    size_t n = t->train.n, k = t->spec.classes, h = t->spec.hidden;
    const double *logits = train_logits(t);
    m->step = t->step;
    m->train_acc = accuracy(logits, n, k, t->train.label);
    if (t->test.n > 0 && !ufm) {
        /* The test set is evaluated on a copy of the roles with streams
         * of its own, from index 0 each time: its stochastic roundings
         * neither take indices from training (so --log-every does not
         * change a run) nor depend on earlier evaluations. */
        nfi_roles eval = t->roles;
        for (int r = 0; r < NFI_ROLE_COUNT; r++) {
            eval.arith[r].fast.seed ^= NFI_TRAINER_EVAL_TAG;
            eval.arith[r].fast.counter = 0;
        }
        if (nfi_mlp_forward(&t->model, &eval, &t->test_cache) != 0)
            return -1;
        m->test_acc = accuracy(t->test_cache.logits, t->test.n, k,
                               t->test.label);
    } else {
        m->test_acc = NAN;
    }

    nfi_exact_sum residual;
    nfi_exact_sum_init(&residual);
    for (size_t i = 0; i < n * k; i++)
        nfi_exact_sum_add(&residual, t->dlogits[i]);
    m->zero_sum_residual = nfi_exact_sum_get_d(&residual);
    nfi_exact_sum_clear(&residual);

    size_t absorbed = 0, underflow = 0;
    double mass = 0.0, margin_sum = 0.0;
    m->margin_min = INFINITY;
    m->margin_max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        const nfi_ce_sample *s = &t->samples[i];
        absorbed += s->absorbed;
        underflow += s->underflow;
        if (s->absorbed)
            mass += s->residual_mass;
        margin_sum += s->margin;
        m->margin_min = fmin(m->margin_min, s->margin);
        m->margin_max = fmax(m->margin_max, s->margin);
    }
    m->absorbed_frac = (double)absorbed / (double)n;
    m->underflow_frac = (double)underflow / (double)n;
    m->residual_mass = absorbed ? mass / (double)absorbed : 0.0;
    m->margin_mean = margin_sum / (double)n;

    const double *w, *feat;
    if (ufm) {
        w = t->ufm.params + t->ufm.offset_w;
        feat = nfi_ufm_features(&t->ufm, 0);
    } else {
        w = t->model.params + t->model.offset_w[t->model.layers];
        feat = nfi_mlp_features(&t->model, &t->train_cache, 0);
    }
    size_t n_params;
    const double *params = nfi_trainer_params(t, &n_params);
    m->w_mean_norm = mean_row_norm(w, k, h);
    m->feat_mean_norm = mean_row_norm(feat, n, h);
    m->w_norm = norm(w, k * h);
    m->param_norm = norm(params, n_params);

    nfi_exact_sum sum;
    nfi_exact_sum_init(&sum);
    for (size_t i = 0; i < n * k; i++)
        nfi_exact_sum_add(&sum, logits[i]);
    m->logit_mean = nfi_exact_sum_get_d(&sum) / (double)(n * k);
    nfi_exact_sum_clear(&sum);
    return 0;
}

int nfi_trainer_step(nfi_trainer *t, nfi_step_metrics *metrics,
                     nfi_sample_record *records, nfi_error *err)
{
    bool ufm = t->spec.model == NFI_MODEL_UFM;
    size_t n = t->train.n, k = t->spec.classes, n_params;
    double *params = nfi_trainer_params(t, &n_params);
    nfi_arith *logits = &t->roles.arith[NFI_ROLE_LOGITS];

    if ((ufm ? nfi_ufm_forward(&t->ufm, &t->roles, t->logits)
             : nfi_mlp_forward(&t->model, &t->roles, &t->train_cache)) != 0)
        return nfi_error_set(err, "out of memory in the forward pass");
    const double *z = train_logits(t);
    double *terms = t->scratch; /* free until the backward pass */
    bool diagnostics = metrics != NULL || records != NULL;
    for (size_t i = 0; i < n; i++) {
        (diagnostics ? nfi_ce_sample_eval : nfi_ce_sample_grad)(
            logits, t->spec.scheme, &t->roles.order, k, z + i * k,
            t->train.label[i], n, t->dlogits + i * k, &t->samples[i], NULL);
        terms[i] = t->samples[i].loss;
    }
    double total = nfi_reduce_sum(logits, &t->roles.order, n, terms, 1);
    double loss = nfi_arith_div(logits, total,
                                nfi_arith_round(logits, (double)n));

    if (metrics != NULL) {
        if (measure(t, metrics) != 0)
            return nfi_error_set(err, "out of memory evaluating the test "
                                 "set");
        metrics->loss = loss;
    }
    if (records != NULL) {
        for (size_t i = 0; i < n; i++) {
            records[i].margin = t->samples[i].margin;
            records[i].z_y = z[i * k + t->train.label[i]];
            records[i].residual_mass = t->samples[i].residual_mass;
            records[i].absorbed = t->samples[i].absorbed;
        }
    }

    if ((ufm ? nfi_ufm_backward(&t->ufm, &t->roles, t->dlogits, t->grad,
                                t->scratch)
             : nfi_mlp_backward(&t->model, &t->roles, &t->train_cache,
                                t->dlogits, t->grad, t->scratch)) != 0)
        return nfi_error_set(err, "out of memory in the backward pass");
    memcpy(t->before, params, n_params * sizeof *t->before);
    nfi_optim_step(&t->spec.optim, &t->roles.arith[NFI_ROLE_OPTIM],
                   &t->roles.arith[NFI_ROLE_PARAMS],
                   &t->roles.arith[NFI_ROLE_GRADS].fast.format, &t->optim,
                   params, t->grad);
    t->step++;
    if (metrics != NULL) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t i = 0; i < n_params; i++) {
            double a = params[i], b = t->before[i];
            nfi_exact_sum_add_product(&s, a, a);
            nfi_exact_sum_add_product(&s, b, b);
            nfi_exact_sum_add_product(&s, -2.0 * a, b);
        }
        metrics->update_norm = sqrt(fmax(nfi_exact_sum_get_d(&s), 0.0));
        metrics->step = t->step;
        nfi_exact_sum_clear(&s);
    }
    return 0;
}

const double *nfi_trainer_train_dlogits(const nfi_trainer *t)
{
    return t->dlogits;
}

static size_t add_tensor(nfi_param_tensor *out, size_t k, size_t *at,
                         const char *name, int ndim, size_t d0, size_t d1)
{
    nfi_param_tensor *p = &out[k];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = ndim == 2 ? d1 : 0;
    p->count = ndim == 2 ? d0 * d1 : d0;
    p->offset = *at;
    *at += p->count;
    return k + 1;
}

size_t nfi_param_tensors(const nfi_train_spec *spec, size_t n_train,
                         nfi_param_tensor *out)
{
    size_t k = 0, at = 0, h = spec->hidden, c = spec->classes;
    if (spec->model == NFI_MODEL_UFM) {
        k = add_tensor(out, k, &at, "H", 2, n_train, h);
        k = add_tensor(out, k, &at, "W", 2, c, h);
        if (spec->classifier_bias)
            k = add_tensor(out, k, &at, "b", 1, c, 0);
        return k;
    }
    size_t layers = spec->layers < NFI_MLP_MAX_LAYERS ? spec->layers
                                                      : NFI_MLP_MAX_LAYERS;
    for (size_t l = 0; l <= layers; l++) {
        bool last = l == layers;
        char w[16], b[16];
        snprintf(w, sizeof w, "W%zu", l + 1);
        snprintf(b, sizeof b, "b%zu", l + 1);
        k = add_tensor(out, k, &at, w, 2, last ? c : h,
                       l == 0 ? spec->input_width : h);
        if (!last || spec->classifier_bias)
            k = add_tensor(out, k, &at, b, 1, last ? c : h, 0);
    }
    return k;
}
