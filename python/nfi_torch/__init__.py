"""nfi_torch: nfi's training experiment in PyTorch, written as an nfi trace.

The companion runs the model and task of `nfi train` (the mlp on a modular
task, full batch, softmax cross-entropy, SGD, Adam or AdamW) with PyTorch's
own modules and optimizers, from an initialisation and a split given as
.npz files, and writes the run as an nfi trace (a directory with
metrics.csv and trace.json) that `nfi diff` compares with an nfi run.

    python3 -m nfi_torch --help

See docs/companion.md in the repository.
"""

__version__ = "0.1.0"
