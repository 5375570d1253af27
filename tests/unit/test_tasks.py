import gzip

import numpy as np
import pytest

from spikefa import SpikefaError, mnist1d
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


def test_mnist1d_is_the_published_dataset():
    # values read from the published mnist1d_data.pkl (github.com/greydanus/mnist1d), not from this generator
    data = load_task(Task("mnist1d"), np.random.default_rng(5))
    assert data.x_train.shape == (4000, 40) and data.x_test.shape == (1000, 40) and data.n_out == 10
    np.testing.assert_allclose(
        data.x_train[0, :4], [-0.332005667369, -0.471910365656, -0.778697076293, -1.009740826537]
    )
    np.testing.assert_allclose(data.x_test[-1, -3:], [0.659875647089, 0.877734349753, 1.193151836835])
    labels = data.y_train.argmax(1)
    assert list(labels[:12]) == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
    assert list(data.y_test.argmax(1)[-5:]) == [2, 5, 9, 6, 4]
    np.testing.assert_array_equal(np.bincount(labels), [398, 396, 411, 394, 394, 402, 401, 404, 402, 398])


def test_mnist1d_generator_follows_the_recipe():
    x_train, l_train, x_test, l_test = mnist1d.generate(n=500, seed=3)
    again = mnist1d.generate(n=500, seed=3)
    other = mnist1d.generate(n=500, seed=4)
    for a, b in zip((x_train, l_train, x_test, l_test), again):
        np.testing.assert_array_equal(a, b)  # one seed, one dataset
    assert not np.allclose(x_train, other[0])
    assert x_train.shape == (400, 40) and x_test.shape == (100, 40)
    np.testing.assert_array_equal(np.bincount(np.concatenate([l_train, l_test])), [50] * 10)  # n/10 per class
    everything = np.concatenate([x_train, x_test])
    assert abs(everything.mean()) < 1e-12 and abs(everything.std() - 1) < 1e-12
    shapes = mnist1d.templates()
    assert shapes.shape == (10, 12) and np.all(shapes[:, 0] == 0)  # each template starts at 0


def test_a_validation_split_replaces_the_test_set():
    full = load_task(Task("digits"), np.random.default_rng(1))
    held = load_task(Task("digits", validation=0.25), np.random.default_rng(1))
    assert len(held.x_train) + len(held.x_test) == len(full.x_train)
    np.testing.assert_array_equal(held.x_test, full.x_train[-len(held.x_test) :])
    assert len(held.x_test) == round(0.25 * len(full.x_train))
    with pytest.raises(SpikefaError, match="task.validation"):
        load_task(Task("digits", n_train=1, validation=0.4), np.random.default_rng(1))


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
