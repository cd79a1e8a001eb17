/* nfi: the training step and its measurements.  See trainer.h. */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_samples(const char *which, nfi_samples s, size_t width,
                         size_t classes, nfi_error *err)
{
    size_t p = width / 2;
    for (size_t i = 0; i < s.n; i++) {
        if (s.a[i] >= p || s.b[i] >= p || s.label[i] >= classes)
            return nfi_error_set(err, "%s sample %zu is (%u, %u) -> %u: "
                                 "operands must be below %zu and labels "
                                 "below %zu", which, i, s.a[i], s.b[i],
                                 s.label[i], p, classes);
    }
    return 0;
}

int nfi_trainer_init(nfi_trainer *t, const nfi_train_spec *spec,
                     nfi_samples train, nfi_samples test, nfi_error *err)
{
    memset(t, 0, sizeof *t);
    t->spec = *spec;
    t->train = train;
    t->test = test;
    if (train.n == 0)
        return nfi_error_set(err, "the training set is empty");
    if (spec->input_width < 2 || spec->input_width % 2 != 0)
        return nfi_error_set(err, "input width %zu: one-hot pairs need an "
                             "even width 2P >= 2", spec->input_width);
    if (nfi_optim_config_check(&spec->optim, err) != 0)
        return -1;
    for (int r = 0; r < NFI_ROLE_COUNT; r++) {
        if (!nfi_format_fits_binary64(&spec->policy.format[r]))
            return nfi_error_set(err, "role %s: training runs on formats "
                                 "inside binary64 (p <= 53, exponents "
                                 "within binary64's) for now",
                                 nfi_role_name((nfi_role)r));
    }
    if (check_samples("training", train, spec->input_width, spec->classes,
                      err) != 0 ||
        check_samples("test", test, spec->input_width, spec->classes,
                      err) != 0)
        return -1;
    if (nfi_roles_init(&t->roles, &spec->policy, spec->mode, spec->seed,
                       &spec->order, spec->reference, err) != 0 ||
        nfi_mlp_init(&t->model, spec->input_width, spec->hidden,
                     spec->layers, spec->classes, spec->classifier_bias,
                     err) != 0)
        return -1;
    nfi_mlp_init_params(&t->model, &t->roles, spec->seed);
    if (nfi_optim_state_init(&t->optim, t->model.n_params, err) != 0 ||
        nfi_mlp_cache_init(&t->train_cache, &t->model, train.n, err) != 0 ||
        nfi_mlp_cache_init(&t->test_cache, &t->model, test.n ? test.n : 1,
                           err) != 0) {
        nfi_trainer_free(t);
        return -1;
    }
    nfi_mlp_one_hot(&t->train_cache, &t->model, train.a, train.b);
    if (test.n > 0)
        nfi_mlp_one_hot(&t->test_cache, &t->model, test.a, test.b);
    size_t k = spec->classes;
    size_t widest = spec->hidden > k ? spec->hidden : k;
    t->dlogits = calloc(train.n * k, sizeof *t->dlogits);
    t->grad = calloc(t->model.n_params, sizeof *t->grad);
    t->before = calloc(t->model.n_params, sizeof *t->before);
    t->scratch = calloc(2 * train.n * widest, sizeof *t->scratch);
    t->samples = calloc(train.n, sizeof *t->samples);
    if (t->dlogits == NULL || t->grad == NULL || t->before == NULL ||
        t->scratch == NULL || t->samples == NULL) {
        nfi_trainer_free(t);
        return nfi_error_set(err, "out of memory for the training buffers");
    }
    return 0;
}

void nfi_trainer_free(nfi_trainer *t)
{
    nfi_mlp_free(&t->model);
    nfi_optim_state_free(&t->optim);
    nfi_mlp_cache_free(&t->train_cache);
    nfi_mlp_cache_free(&t->test_cache);
    free(t->dlogits);
    free(t->grad);
    free(t->before);
    free(t->scratch);
    free(t->samples);
    t->dlogits = t->grad = t->before = t->scratch = NULL;
    t->samples = NULL;
}

double *nfi_trainer_params(nfi_trainer *t, size_t *n)
{
    if (n != NULL)
        *n = t->model.n_params;
    return t->model.params;
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
    const nfi_mlp *model = &t->model;
    size_t n = t->train.n, k = model->classes, h = model->hidden;
    m->step = t->step;
    m->train_acc = accuracy(t->train_cache.logits, n, k, t->train.label);
    if (t->test.n > 0) {
        if (nfi_mlp_forward(model, &t->roles, &t->test_cache) != 0)
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

    const double *w = model->params + model->offset_w[model->layers];
    m->w_mean_norm = mean_row_norm(w, k, h);
    m->feat_mean_norm = mean_row_norm(nfi_mlp_features(model,
                                                       &t->train_cache, 0),
                                      n, h);
    m->w_norm = norm(w, k * h);
    m->param_norm = norm(model->params, model->n_params);

    nfi_exact_sum logits;
    nfi_exact_sum_init(&logits);
    for (size_t i = 0; i < n * k; i++)
        nfi_exact_sum_add(&logits, t->train_cache.logits[i]);
    m->logit_mean = nfi_exact_sum_get_d(&logits) / (double)(n * k);
    nfi_exact_sum_clear(&logits);
    return 0;
}

int nfi_trainer_step(nfi_trainer *t, nfi_step_metrics *metrics,
                     nfi_sample_record *records, nfi_error *err)
{
    nfi_mlp *model = &t->model;
    size_t n = t->train.n, k = model->classes;
    nfi_arith *logits = &t->roles.arith[NFI_ROLE_LOGITS];

    if (nfi_mlp_forward(model, &t->roles, &t->train_cache) != 0)
        return nfi_error_set(err, "out of memory in the forward pass");
    double *terms = t->scratch; /* free until the backward pass */
    bool diagnostics = metrics != NULL || records != NULL;
    for (size_t i = 0; i < n; i++) {
        (diagnostics ? nfi_ce_sample_eval : nfi_ce_sample_grad)(
            logits, t->spec.scheme, &t->roles.order, k,
            t->train_cache.logits + i * k, t->train.label[i], n,
            t->dlogits + i * k, &t->samples[i], NULL);
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
            records[i].z_y = t->train_cache.logits[i * k + t->train.label[i]];
            records[i].residual_mass = t->samples[i].residual_mass;
            records[i].absorbed = t->samples[i].absorbed;
        }
    }

    if (nfi_mlp_backward(model, &t->roles, &t->train_cache, t->dlogits,
                         t->grad, t->scratch) != 0)
        return nfi_error_set(err, "out of memory in the backward pass");
    memcpy(t->before, model->params, model->n_params * sizeof *t->before);
    nfi_optim_step(&t->spec.optim, &t->roles.arith[NFI_ROLE_OPTIM],
                   &t->roles.arith[NFI_ROLE_PARAMS],
                   &t->roles.arith[NFI_ROLE_GRADS].fast.format, &t->optim,
                   model->params, t->grad);
    t->step++;
    if (metrics != NULL) {
        nfi_exact_sum s;
        nfi_exact_sum_init(&s);
        for (size_t i = 0; i < model->n_params; i++) {
            double a = model->params[i], b = t->before[i];
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
