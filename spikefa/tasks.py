"""Tasks: teacher networks (Lillicrap et al. 2016), scikit-learn's bundled digits, MNIST from IDX files,
MNIST-1D generated from its recipe (:mod:`spikefa.mnist1d`).

A task is a :class:`Dataset` of NumPy arrays. Classification targets are one-hot rows; ``labels``
keeps the integer classes. Randomness (teacher weights, inputs, splits) comes from the generator
passed in, so a circuit's seed fixes the data too.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import mnist1d, spec
from .errors import SpikefaError


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classification: bool

    @property
    def n_in(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_out(self) -> int:
        return self.y_train.shape[1]

    def astype(self, dtype: np.dtype) -> Dataset:
        c = np.ascontiguousarray
        return Dataset(
            self.name,
            c(self.x_train, dtype),
            c(self.y_train, dtype),
            c(self.x_test, dtype),
            c(self.y_test, dtype),
            self.classification,
        )


def one_hot(labels: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((labels.size, n))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _teacher(task: spec.Task, rng: np.random.Generator, nonlinear: bool) -> Dataset:
    """A random teacher network. Linear (Lillicrap Fig. 2): y = T x, T uniform in [−1, 1].
    Nonlinear (Fig. 3): a tanh network whose layers have weights uniform in ±sqrt(3/n_in),
    so every unit's drive has unit variance. Inputs x ~ N(0, I)."""
    sizes = task.teacher_sizes
    if nonlinear:
        Ts = [rng.uniform(-1, 1, (n_out, n_in)) * np.sqrt(3.0 / n_in) for n_in, n_out in zip(sizes, sizes[1:])]
    else:
        Ts = [rng.uniform(-1, 1, (sizes[-1], sizes[0]))]

    def teach(x):
        for k, T in enumerate(Ts):
            x = x @ T.T
            if nonlinear and k < len(Ts) - 1:
                x = np.tanh(x)
        return x

    x_train = rng.standard_normal((task.n_train or 10000, sizes[0]))
    x_test = rng.standard_normal((task.n_test or 1000, sizes[0]))
    return Dataset(task.name, x_train, teach(x_train), x_test, teach(x_test), classification=False)


def _digits(task: spec.Task) -> Dataset:
    """scikit-learn's 8×8 digits (1797 images), pixels scaled to [0, 1]; a fixed stratified
    80/20 split (the same for every seed, so seeds compare on one test set)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, labels = d.data / 16.0, d.target
    order = np.random.default_rng(0).permutation(labels.size)
    test = np.zeros(labels.size, bool)
    for c in range(10):
        members = order[labels[order] == c]
        test[members[: int(round(0.2 * members.size))]] = True
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    return Dataset(
        "digits",
        x[train_idx],
        one_hot(labels[train_idx], 10),
        x[test_idx],
        one_hot(labels[test_idx], 10),
        classification=True,
    )


MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def mnist_dir(task: spec.Task, data_dir: str | None = None) -> Path:
    """Where MNIST is read from: ``--data-dir``, else ``$SPIKEFA_DATA``, else the circuit's ``task.data_dir``."""
    chosen = data_dir or os.environ.get("SPIKEFA_DATA") or task.data_dir
    if not chosen:
        raise SpikefaError(
            "task.data_dir: MNIST needs a folder with the four IDX files; give task.data_dir, "
            "--data-dir or SPIKEFA_DATA"
        )
    return Path(chosen).expanduser()


def read_idx(path: Path, md5: str | None = None) -> np.ndarray:
    """One IDX file (gzip), checked against its MD5 when given."""
    if not path.is_file():
        raise SpikefaError(f"{path}: MNIST file not found (need {', '.join(MNIST_FILES)})")
    raw = path.read_bytes()
    if md5 is not None and hashlib.md5(raw).hexdigest() != md5:
        raise SpikefaError(f"{path}: MD5 {hashlib.md5(raw).hexdigest()} does not match the original file ({md5})")
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError):
        raise SpikefaError(f"{path}: not a gzip IDX file") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise SpikefaError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", ndim, 4).astype(int)
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != np.prod(dims):
        raise SpikefaError(f"{path}: truncated IDX file ({body.size} of {np.prod(dims)} bytes)")
    return body.reshape(dims)


def _mnist(task: spec.Task, data_dir: str | None) -> Dataset:
    """MNIST, 60,000 training and 10,000 test images as 784-vectors scaled to [0, 1]."""
    root = mnist_dir(task, data_dir)
    if not root.is_dir():
        raise SpikefaError(f"{root}: MNIST folder not found (task.data_dir, --data-dir or SPIKEFA_DATA)")
    arrays = [read_idx(root / name, md5) for name, md5 in MNIST_FILES.items()]
    x_train, y_train, x_test, y_test = arrays
    return Dataset(
        "mnist",
        x_train.reshape(len(x_train), -1) / 255.0,
        one_hot(y_train, 10),
        x_test.reshape(len(x_test), -1) / 255.0,
        one_hot(y_test, 10),
        classification=True,
    )


def _mnist1d(task: spec.Task) -> Dataset:
    """MNIST-1D: 4,000 training and 1,000 test examples of 40 samples (the published set at data_seed 42)."""
    x_train, labels_train, x_test, labels_test = mnist1d.generate(seed=task.data_seed)
    return Dataset("mnist1d", x_train, one_hot(labels_train, 10), x_test, one_hot(labels_test, 10), True)


def load_task(task: spec.Task, rng: np.random.Generator, data_dir: str | None = None) -> Dataset:
    """Build the dataset a circuit's ``task`` block names; ``n_train``/``n_test`` take the first examples;
    ``validation`` then holds out the training set's last fraction as the evaluation set."""
    if task.name in ("linear_teacher", "nonlinear_teacher"):
        data = _teacher(task, rng, nonlinear=task.name == "nonlinear_teacher")
        return _hold_out(data, task.validation)
    loaders = {"digits": _digits, "mnist1d": _mnist1d, "mnist": lambda t: _mnist(t, data_dir)}
    data = loaders[task.name](task)
    for size, n_avail, what in (
        (task.n_train, len(data.x_train), "n_train"),
        (task.n_test, len(data.x_test), "n_test"),
    ):
        if size is not None and size > n_avail:
            raise SpikefaError(f"task.{what}: {size} is more than the {n_avail} examples {task.name} has")
    data.x_train, data.y_train = data.x_train[: task.n_train], data.y_train[: task.n_train]
    data.x_test, data.y_test = data.x_test[: task.n_test], data.y_test[: task.n_test]
    data = _hold_out(data, task.validation)
    if task.normalize != "none":
        shift, scale = normalization(data.x_train, task.normalize)
        data.x_train, data.x_test = (data.x_train - shift) / scale, (data.x_test - shift) / scale
    return data


def normalization(x_train: np.ndarray, normalize: str) -> tuple[np.ndarray | float, float]:
    """``task.normalize`` as (shift, scale), inputs becoming (x − shift) / scale: none (0, 1); center
    (the mean training input, 1); standardize (that mean, the centred training set's std)."""
    if normalize == "none":
        return 0.0, 1.0
    mean = x_train.mean(axis=0)
    return mean, ((x_train - mean).std() if normalize == "standardize" else 1.0)


def _hold_out(data: Dataset, fraction: float) -> Dataset:
    """The last ``fraction`` of the training set as the evaluation set, in place of the test set."""
    if not fraction:
        return data
    n = len(data.x_train) - int(round(fraction * len(data.x_train)))
    if n < 1 or n == len(data.x_train):
        raise SpikefaError(
            f"task.validation: {fraction} of {len(data.x_train)} examples leaves no training or no validation set"
        )
    return Dataset(
        data.name, data.x_train[:n], data.y_train[:n], data.x_train[n:], data.y_train[n:], data.classification
    )
