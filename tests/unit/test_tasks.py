import gzip

import numpy as np
import pytest

from spikefa import SpikefaError
from spikefa.spec import Task
from spikefa.tasks import load_task, read_idx


def test_digits_split_is_fixed_and_stratified():
    a = load_task(Task("digits"), np.random.default_rng(1))
    b = load_task(Task("digits"), np.random.default_rng(2))
    assert a.x_train.shape == (1438, 64) and a.x_test.shape == (359, 64)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert np.all(a.y_test.sum(0) >= 35) and a.x_train.max() == 1.0


def test_teachers_are_seeded():
    a = load_task(Task("nonlinear_teacher", teacher_sizes=(30, 20, 10, 10), n_train=50), np.random.default_rng(1))
    b = load_task(Task("nonlinear_teacher", teacher_sizes=(30, 20, 10, 10), n_train=50), np.random.default_rng(1))
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert a.x_train.shape == (50, 30) and a.y_train.shape == (50, 10) and not a.classification
    lin = load_task(Task("linear_teacher", teacher_sizes=(30, 10), n_train=2000), np.random.default_rng(3))
    T, *_ = np.linalg.lstsq(lin.x_train, lin.y_train, rcond=None)  # exactly linear, entries in [-1, 1]
    np.testing.assert_allclose(lin.x_train @ T, lin.y_train, atol=1e-9)
    assert np.abs(T).max() <= 1.0


def idx_bytes(array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_idx_reader_and_its_errors(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    f = tmp_path / "x.gz"
    f.write_bytes(idx_bytes(images))
    np.testing.assert_array_equal(read_idx(f), images)
    with pytest.raises(SpikefaError, match="x.gz: MD5 .* does not match"):
        read_idx(f, md5="0" * 32)
    f.write_bytes(idx_bytes(images)[:-3])
    with pytest.raises(SpikefaError, match="x.gz: "):
        read_idx(f)
    with pytest.raises(SpikefaError, match="missing.gz: MNIST file not found"):
        read_idx(tmp_path / "missing.gz")


def test_mnist_without_a_folder_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("SPIKEFA_DATA", raising=False)
    with pytest.raises(SpikefaError, match="task.data_dir: MNIST needs a folder"):
        load_task(Task("mnist"), np.random.default_rng(0))
