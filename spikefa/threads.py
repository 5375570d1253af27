"""How many threads a run uses, chosen deliberately: the one thread pool spikefa uses is BLAS's.

Numba kernels run on one thread (measured: threading them over rows gained nothing on an MNIST FA
epoch, 0.63 s either way on 2 cores, and a second pool beside OpenBLAS's made a busy machine slower),
so BLAS (OpenBLAS, MKL, …; sized with ``threadpoolctl``) is the only pool. Its size is
``threads`` given to :func:`spikefa.run_circuit` (``spikefa run --threads N``), else the environment
variable ``SPIKEFA_THREADS``, else **1**:

- one thread is what makes "same circuit file and seed → the same metrics.csv, byte for byte" hold on
  any machine: OpenBLAS splits a product differently on 1 and 2 threads, and the last bits of the
  results differ (measured on MNIST FA: identical accuracies, norms differing in the 16th digit);
- one thread never competes with other processes: a 20,000-example MNIST FA epoch took 1.0 s alone
  and 1.0 s beside a CPU-bound process on 2 cores, where 2 threads took 0.63 s alone and 1.45 s busy
  (``python -m benchmarks.busy``); a Dask sweep runs one single-threaded worker per core.

Pass ``--threads 2`` (or more) on a machine of your own for speed; results then reproduce for the
same thread count.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from .errors import SpikefaError

ENV = "SPIKEFA_THREADS"


MAX = 1024  # more threads than any machine's BLAS uses; a larger count is a typing error


def choose(requested: int | None = None) -> int:
    """The BLAS thread count for a run: ``requested``, else ``$SPIKEFA_THREADS``, else 1 (1 … :data:`MAX`)."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or not 1 <= requested <= MAX:
            raise SpikefaError(f"--threads: must be an integer from 1 to {MAX}, got {str(requested)[:40]}")
        return requested
    text = os.environ.get(ENV, "").strip()
    if text:
        if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= MAX:  # ASCII digits ("²" is a digit too)
            raise SpikefaError(f"{ENV}: must be an integer from 1 to {MAX}, got {text[:40]!r}")
        return int(text)
    return 1


@contextmanager
def limited(n: int) -> Iterator[int]:
    """BLAS pools of this process limited to ``n`` threads inside the block."""
    with threadpool_limits(limits=n, user_api="blas"):
        yield n
