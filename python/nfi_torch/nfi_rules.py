"""nfi's own split and initialisation, reproduced from their written rules.

`nfi train --seed S` draws its split and its initial parameters from S
alone; the rules are written in data/modular.h, data/draw.h, sim/round.h
and docs/training.md ("Initialisation").  These functions restate them in
Python integers (every step modulo 2^64), so that the companion can start
from the point of an nfi run without reading it from the run (useful with
an nfi that has no `nfi export`, and as a check of it).  Only the modular
tasks and the mlp are covered.
"""
import math

MASK = (1 << 64) - 1
MODULAR_TAG = 0x6E66692D6D6F643A   # the bytes "nfi-mod:"
WEYL = 0x9E3779B97F4A7C15

OPS = ("add", "sub", "mul", "div")


def _mix(z):
    """mix(z) of data/draw.h."""
    z ^= z >> 27
    z = (z * 0x3C79AC492BA7B653) & MASK
    z ^= z >> 33
    z = (z * 0x1C69B3F74AC4AE35) & MASK
    z ^= z >> 27
    return z


def _below(key, counter, n):
    """nfi_draw_below: (a uniform integer in [0, n), the next counter)."""
    threshold = ((1 << 64) - n) % n
    while True:
        x = _mix((key + (counter + 1) * WEYL) & MASK)
        counter += 1
        if x >= threshold:
            return x % n, counter


def label(op, p, a, b):
    """(a op b) mod p; div needs b != 0 and p prime."""
    if op == "add":
        return (a + b) % p
    if op == "sub":
        return (a - b) % p
    if op == "mul":
        return a * b % p
    return a * pow(b, -1, p) % p


def pairs(op, p):
    """Every pair (a, b) of the task in nfi's canonical order."""
    first_b = 1 if op == "div" else 0
    return [(a, b) for a in range(p) for b in range(first_b, p)]


def split_size(n, train_frac):
    """floor(fl(train_frac * n)), refused when a set would be empty."""
    k = math.floor(train_frac * float(n))
    if not 1 <= k < n:
        raise ValueError(f"train_frac {train_frac!r} leaves a set of the "
                         f"{n} samples empty")
    return k


def modular_split(op, p, train_frac, seed):
    """nfi's split for --task op --modulus p --train-frac f --seed seed:
    (train, test), lists of (a, b, label) in nfi's training order."""
    all_pairs = pairs(op, p)
    n = len(all_pairs)
    n_train = split_size(n, train_frac)
    key = _mix((seed & MASK) ^ MODULAR_TAG)
    counter = 0
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j, counter = _below(key, counter, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    rows = [(all_pairs[k][0], all_pairs[k][1],
             label(op, p, *all_pairs[k])) for k in perm]
    return rows[:n_train], rows[n_train:]


def _sr_bits(seed, index):
    """nfi_sr_bits of sim/round.h."""
    z = (seed * 0x9E3779B97F4A7C15 + index) & MASK
    z ^= z >> 31
    z = (z * 0xBF58476D1CE4E5B9) & MASK
    z ^= z >> 29
    z = (z + (seed ^ 0x94D049BB133111EB)) & MASK
    z = (z * 0x94D049BB133111EB) & MASK
    z ^= z >> 32
    z = (z * 0xD6E8FEB86659FD93) & MASK
    z ^= z >> 32
    return z & 0xFFFFFFFF


def mlp_init(seed, layers):
    """The binary64 draws of nfi_mlp_init_params: layers is a list of
    (name, shape, fan_in) in the order of nfi's parameter vector; returns
    {name: flat list of floats}.  Value i of the vector is
    (2u - 1) * (1 / sqrt(fan_in)), u from draws 2i and 2i + 1."""
    seed &= MASK
    out = {}
    index = 0
    for name, shape, fan_in in layers:
        bound = 1.0 / math.sqrt(fan_in)
        count = math.prod(shape)
        values = []
        for i in range(index, index + count):
            hi = _sr_bits(seed, 2 * i)
            lo = _sr_bits(seed, 2 * i + 1)
            u = (((hi << 32) | lo) >> 11) * 2.0 ** -53
            values.append((2.0 * u - 1.0) * bound)
        out[name] = values
        index += count
    return out
