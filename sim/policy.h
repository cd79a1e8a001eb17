/* nfi: precision policies: which format each role of a training run uses.
 *
 * Roles: params (master weights), activations (hidden pre-activations,
 * activations and their products), logits (logits, loss and the logit
 * gradient), grads (parameter and activation gradients), accum (the
 * accumulators of sums and dot products), optim (optimizer moments and
 * the arithmetic of the update).  A value that moves from one role to
 * another is rounded into the new role's format (a cast is a rounding).
 *
 * Text form: a base format for every role, then overrides
 * "role=SPEC,role=SPEC", where SPEC is any format specification; its own
 * options (p=, emin=, emax=, subnormals=, overflow=, round=) follow it
 * with commas, since no option has a role's name:
 *   base binary32, overrides "logits=binary64"
 *   base bfloat16, overrides "accum=binary32,optim=p=20,emin=-126,emax=127"
 */
#ifndef NFI_POLICY_H
#define NFI_POLICY_H

#include <stddef.h>

#include "error.h"
#include "format.h"

typedef enum nfi_role {
    NFI_ROLE_PARAMS,
    NFI_ROLE_ACTIVATIONS,
    NFI_ROLE_LOGITS,
    NFI_ROLE_GRADS,
    NFI_ROLE_ACCUM,
    NFI_ROLE_OPTIM
} nfi_role;

#define NFI_ROLE_COUNT 6

typedef struct nfi_policy {
    nfi_format format[NFI_ROLE_COUNT];
} nfi_policy;

const char *nfi_role_name(nfi_role role);

/* Every role in base; then the overrides (NULL or "" for none).  Returns
 * 0, or -1 with an error naming the bad role or specification. */
int nfi_policy_parse(const char *base, const char *overrides,
                     nfi_policy *out, nfi_error *err);

/* "role=SPEC,..." for every role whose format differs from params' (the
 * base), in role order; "" when all agree. */
int nfi_policy_spell_overrides(const nfi_policy *p, char *buf, size_t size);

#endif
