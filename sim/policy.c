/* nfi: precision policies.  See policy.h. */
#include "policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const role_names[NFI_ROLE_COUNT] = {
    "params", "activations", "logits", "grads", "accum", "optim"};

const char *nfi_role_name(nfi_role role)
{
    return (int)role >= 0 && (int)role < NFI_ROLE_COUNT ? role_names[role]
                                                        : "?";
}

/* The role named by "name=..." at the start of tok, or -1. */
static int role_of(const char *tok)
{
    const char *eq = strchr(tok, '=');
    if (eq == NULL)
        return -1;
    for (int i = 0; i < NFI_ROLE_COUNT; i++) {
        size_t n = strlen(role_names[i]);
        if ((size_t)(eq - tok) == n && strncasecmp(tok, role_names[i], n) == 0)
            return i;
    }
    return -1;
}

static int set_role(nfi_policy *p, int role, const char *spec,
                    nfi_error *err)
{
    nfi_error inner;
    if (nfi_format_parse(spec, &p->format[role], &inner) != 0)
        return nfi_error_set(err, "policy role %s: %s", role_names[role],
                             inner.message);
    return 0;
}

int nfi_policy_parse(const char *base, const char *overrides,
                     nfi_policy *out, nfi_error *err)
{
    nfi_policy p;
    nfi_format f;
    nfi_error inner;
    if (nfi_format_parse(base, &f, &inner) != 0)
        return nfi_error_set(err, "%s", inner.message);
    for (int i = 0; i < NFI_ROLE_COUNT; i++)
        p.format[i] = f;
    if (overrides == NULL || *overrides == '\0') {
        *out = p;
        return 0;
    }

    char *text = strdup(overrides);
    if (text == NULL)
        return nfi_error_set(err, "out of memory reading the policy");
    /* Tokens split at commas; a token "role=..." starts an entry, any
     * other token continues the current entry's format specification. */
    char spec[512] = "";
    int role = -1, status = 0;
    bool seen[NFI_ROLE_COUNT] = {false};
    for (char *save = NULL, *tok = strtok_r(text, ",", &save);
         tok != NULL && status == 0; tok = strtok_r(NULL, ",", &save)) {
        int r = role_of(tok);
        if (r >= 0) {
            if (role >= 0)
                status = set_role(&p, role, spec, err);
            if (status == 0 && seen[r])
                status = nfi_error_set(err, "policy '%s' sets role %s "
                                       "twice", overrides, role_names[r]);
            seen[r] = true;
            role = r;
            snprintf(spec, sizeof spec, "%s", strchr(tok, '=') + 1);
        } else if (role < 0) {
            status = nfi_error_set(err, "policy '%s': '%s' is not "
                                   "role=FORMAT; roles are params, "
                                   "activations, logits, grads, accum, "
                                   "optim (e.g. logits=binary64)",
                                   overrides, tok);
        } else {
            size_t len = strlen(spec);
            snprintf(spec + len, sizeof spec - len, ",%s", tok);
        }
    }
    if (status == 0 && role >= 0)
        status = set_role(&p, role, spec, err);
    free(text);
    if (status == 0)
        *out = p;
    return status;
}

int nfi_policy_spell_overrides(const nfi_policy *p, char *buf, size_t size)
{
    size_t used = 0;
    if (size > 0)
        buf[0] = '\0';
    for (int i = 1; i < NFI_ROLE_COUNT; i++) {
        if (nfi_format_equal(&p->format[i], &p->format[NFI_ROLE_PARAMS]))
            continue;
        char spec[256];
        nfi_format_spell(&p->format[i], spec, sizeof spec);
        int n = snprintf(buf + (used < size ? used : size),
                         used < size ? size - used : 0, "%s%s=%s",
                         used ? "," : "", role_names[i], spec);
        used += (size_t)n;
    }
    return (int)used;
}
