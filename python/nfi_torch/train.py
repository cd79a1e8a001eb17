"""The training run: nfi's mlp experiment in PyTorch, measured as nfi does.

One step, as a PyTorch user writes it: zero the gradients, the forward
pass of the whole training set (nn.Linear, ReLU, nn.Linear), the mean
cross-entropy (F.cross_entropy), backward, then the optimizer
(torch.optim.SGD, Adam or AdamW) on the parameters.  The measurements of
a logged step describe that step's forward pass, as in nfi's metrics.csv
(docs/training.md, "Measurements"):

- loss: the value F.cross_entropy returned, in the run's dtype;
- train_acc, test_acc: RN(hits / n), a hit when the first largest logit
  (scanning j upwards, replacing on '>') is the label;
- absorbed_frac, underflow_frac: from the logit gradients PyTorch's
  backward computed (logits.grad, in the dtype): a sample is absorbed
  when its label's gradient is exactly 0, underflowed when its whole row
  is 0;
- zero_sum_residual: the exact sum of all those gradients, rounded once;
- residual_mass: per absorbed sample, the exact sum over the wrong
  classes of exp(log_softmax(z)) evaluated by PyTorch in the dtype (the
  values its log_softmax backward multiplies by the label's gradient,
  recomputed with torch.exp); their mean in binary64 as nfi takes it;
- margin_min/mean/max, w_mean_norm, feat_mean_norm, w_norm, param_norm,
  update_norm, logit_mean: nfi's binary64/exact definitions applied to the
  dtype's values (exact.py).
"""
import math
import time

import numpy as np

from nfi_torch import exact

COLUMNS = ("loss", "train_acc", "test_acc", "absorbed_frac",
           "underflow_frac", "zero_sum_residual", "residual_mass",
           "margin_min", "margin_mean", "margin_max", "w_mean_norm",
           "feat_mean_norm", "w_norm", "param_norm", "update_norm",
           "logit_mean")


def param_names(layers, classifier_bias):
    """nfi's tensor names in the order of its parameter vector."""
    names = []
    for l in range(1, layers + 1):
        names += [f"W{l}", f"b{l}"]
    names.append(f"W{layers + 1}")
    if classifier_bias:
        names.append(f"b{layers + 1}")
    return names


def param_shapes(inputs, hidden, classes, layers, classifier_bias):
    """{name: shape} of the mlp, nn.Linear layout (out, in)."""
    shapes = {}
    width = inputs
    for l in range(1, layers + 1):
        shapes[f"W{l}"] = (hidden, width)
        shapes[f"b{l}"] = (hidden,)
        width = hidden
    shapes[f"W{layers + 1}"] = (classes, hidden)
    if classifier_bias:
        shapes[f"b{layers + 1}"] = (classes,)
    return shapes


def first_argmax(z):
    """Per row, the first index of the largest value (replacing only on
    '>', so a NaN never wins unless it is first), as nfi's accuracy."""
    best = np.zeros(z.shape[0], dtype=np.int64)
    top = z[:, 0].copy()
    for j in range(1, z.shape[1]):
        better = z[:, j] > top
        best[better] = j
        top[better] = z[better, j]
    return best


class Run:
    """A configured run: the torch modules, optimizer and data."""

    def __init__(self, torch, cfg, params, train, test, dtype):
        self.torch = torch
        self.cfg = cfg
        self.dtype = {"float32": torch.float32,
                      "float64": torch.float64}[dtype]
        nn = torch.nn
        p, hidden, layers = cfg["modulus"], cfg["hidden"], cfg["layers"]
        self.classes = p
        self.layers = layers
        self.bias = cfg["classifier_bias"] == "on"
        body = []
        width = 2 * p
        for _ in range(layers):
            body += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*body).to(self.dtype)
        self.head = nn.Linear(hidden, p, bias=self.bias).to(self.dtype)
        self.names = param_names(layers, self.bias)
        tensors = []
        for i in range(layers):
            lin = self.body[2 * i]
            tensors += [lin.weight, lin.bias]
        tensors.append(self.head.weight)
        if self.bias:
            tensors.append(self.head.bias)
        self.tensors = dict(zip(self.names, tensors))
        with torch.no_grad():
            for name, t in self.tensors.items():
                # float64 -> dtype rounds to nearest, ties to even.
                t.copy_(torch.from_numpy(
                    np.asarray(params[name], dtype=np.float64)).to(
                        self.dtype))
        self.x_train, self.y_train = self._inputs(train)
        self.x_test, self.y_test = self._inputs(test)
        self.y_train_np = self.y_train.numpy()
        self.opt = self._optimizer()

    def _inputs(self, rows):
        torch = self.torch
        rows = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        p = self.classes
        x = torch.zeros((rows.shape[0], 2 * p), dtype=self.dtype)
        idx = torch.arange(rows.shape[0])
        x[idx, rows[:, 0]] = 1
        x[idx, p + rows[:, 1]] = 1
        return x, rows[:, 2].contiguous()

    def _optimizer(self):
        torch, c = self.torch, self.cfg
        params = [self.tensors[n] for n in self.names]
        if c["optimizer"] == "sgd":
            return torch.optim.SGD(params, lr=c["lr"],
                                   momentum=c["momentum"],
                                   weight_decay=c["weight_decay"])
        kind = torch.optim.Adam if c["optimizer"] == "adam" \
            else torch.optim.AdamW
        return kind(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]),
                    eps=c["eps"], weight_decay=c["weight_decay"])

    def flat_params(self):
        """All parameters as one float64 vector in nfi's order."""
        return np.concatenate([self.tensors[n].detach().to(
            self.torch.float64).numpy().ravel() for n in self.names])

    def snapshot(self):
        """{name: float64 array} of the current parameters."""
        return {n: self.tensors[n].detach().to(self.torch.float64)
                .numpy().copy() for n in self.names}

    def _accuracy(self, logits, labels):
        hits = int(np.count_nonzero(first_argmax(logits) == labels))
        return hits / labels.shape[0]

    def step(self, logged):
        """One training step; the metrics dict of its forward pass when
        logged, else None."""
        torch, F = self.torch, self.torch.nn.functional
        self.opt.zero_grad(set_to_none=True)
        feats = self.body(self.x_train)
        logits = self.head(feats)
        logits.retain_grad()
        loss = F.cross_entropy(logits, self.y_train)
        loss.backward()
        if not logged:
            self.opt.step()
            return None
        with torch.no_grad():
            before = self.flat_params()
            classifier = self.tensors[f"W{self.layers + 1}"].detach().to(
                torch.float64).numpy().copy()
            test_logits = self.head(self.body(self.x_test))
            q = torch.exp(F.log_softmax(logits.detach(), dim=1))
        self.opt.step()
        after = self.flat_params()
        z = logits.detach().to(torch.float64).numpy()
        g = logits.grad.detach().to(torch.float64).numpy()
        q = q.to(torch.float64).numpy()
        h = feats.detach().to(torch.float64).numpy()
        zt = test_logits.to(torch.float64).numpy()
        self.last_logits = z
        y = self.y_train_np
        n, k = z.shape
        rows = np.arange(n)
        absorbed = g[rows, y] == 0
        underflow = absorbed & (np.count_nonzero(g, axis=1) == 0)
        mass_sum = 0.0
        for i in np.nonzero(absorbed)[0]:
            wrong = np.delete(q[i], y[i])
            mass_sum += exact.rn(exact.exact_sum(wrong))
        n_abs = int(np.count_nonzero(absorbed))
        if k > 1:
            others = z.copy()
            others[rows, y] = -np.inf
            margins = z[rows, y] - others.max(axis=1)
        else:
            margins = np.full(n, np.inf)
        margin_sum = 0.0
        for m in margins.tolist():
            margin_sum += m
        m = {
            "loss": float(loss.item()),
            "train_acc": self._accuracy(z, y),
            "test_acc": (self._accuracy(zt, self.y_test.numpy())
                         if zt.shape[0] else math.nan),
            "absorbed_frac": n_abs / n,
            "underflow_frac": int(np.count_nonzero(underflow)) / n,
            "zero_sum_residual": exact.rn(exact.exact_sum(g)),
            "residual_mass": mass_sum / n_abs if n_abs else 0.0,
            "margin_min": float(np.fmin.reduce(margins, initial=np.inf)),
            "margin_mean": margin_sum / n,
            "margin_max": float(np.fmax.reduce(margins, initial=-np.inf)),
            "w_mean_norm": exact.column_mean_norm(classifier),
            "feat_mean_norm": exact.column_mean_norm(h),
            "w_norm": exact.norm(classifier),
            "param_norm": exact.norm(before),
            "update_norm": math.sqrt(max(exact.rn(
                exact.exact_sum_sq_diff(after, before)), 0.0)),
            "logit_mean": exact.rn(exact.exact_sum(z)) / (n * k),
        }
        return m

    def train(self, steps, log_every, on_row, snapshot_every=0,
              on_snapshot=None):
        """steps updates; on_row(step, metrics) at the logged steps (1,
        every log_every, the last); on_snapshot(step, params) at step 0
        (the initial parameters in the dtype), every snapshot_every steps
        (0: none) and at the last step.  After a logged step,
        self.last_logits holds its training logits (float64 array).  A
        NaN loss at a logged step stops the run after that step, as in
        nfi train (self.failed holds the step).
        Returns the seconds of the loop."""
        if on_snapshot is not None:
            on_snapshot(0, self.snapshot())
        start = time.perf_counter()
        self.failed = None
        self.steps_done = 0
        for step in range(1, steps + 1):
            logged = step == 1 or step % log_every == 0 or step == steps
            metrics = self.step(logged)
            # As nfi train: a NaN loss at a logged step ends the run
            # with the row that shows it.
            failed = logged and math.isnan(metrics["loss"])
            if logged:
                on_row(step, metrics)
            self.steps_done = step
            if failed:
                self.failed = step
                if on_snapshot is not None:
                    on_snapshot(step, self.snapshot())
                break
            if on_snapshot is not None and (
                    step == steps or
                    (snapshot_every and step % snapshot_every == 0)):
                on_snapshot(step, self.snapshot())
        return time.perf_counter() - start
