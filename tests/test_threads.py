"""use_one_thread_per_op: what TensorFlow runs with after it, checked in fresh processes
(TensorFlow fixes its threads at its first op, which this test process has long run)."""

import os
import subprocess
import sys

import pytest
from conftest import REPO

PROBE = """
import os, sys
import tensorflow as tf
from slotfill.threads import use_one_thread_per_op
if sys.argv[1] == "started":
    tf.constant(1.0) + 1.0  # TensorFlow starts with its default threads
elif sys.argv[1] == "started_with_one":
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.constant(1.0) + 1.0
ok = use_one_thread_per_op()
tf.constant(1.0) + 1.0
print(ok, tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads())
"""


def _probe(case: str, **env: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, case], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_before_the_first_op_it_sets_one_thread_per_op_and_an_op_per_core():
    assert _probe("fresh") == ["True", "1", str(os.cpu_count())]


def test_the_environment_cannot_give_ops_more_threads_but_can_limit_parallel_ops():
    assert _probe("fresh", TF_NUM_INTRAOP_THREADS="2", TF_NUM_INTEROP_THREADS="1") == [
        "True", "1", "1"]


@pytest.mark.parametrize(("case", "expected"), [
    ("started", ["False", "0"]),               # TensorFlow's defaults stay: it says so
    ("started_with_one", ["True", "1"]),       # already one thread per op: as good
])
def test_after_the_first_op_it_reports_whether_ops_run_on_one_thread(case, expected):
    assert _probe(case)[:2] == expected
