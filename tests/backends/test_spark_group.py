"""Spark tests share one xdist worker (one JVM per run): under ``--dist loadgroup`` (pyproject's
addopts) the node id of every Spark test carries xdist's ``@spark`` group, which the controller
schedules as one unit (``tests/conftest.py``); so do the tests sharing a module-scoped fixture with
a Spark test's module, and no other."""

from __future__ import annotations

import pytest
from tests.conftest import is_spark_test


def _on_a_loadgroup_worker(request) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("checks xdist's scheduling: runs on a worker under --dist loadgroup (pytest -n 2)")


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0]


@pytest.mark.spark  # starts no JVM: it only reads the id the worker reports
def test_a_spark_test_reports_the_spark_group(request) -> None:
    _on_a_loadgroup_worker(request)
    assert request.node.nodeid.endswith("@spark"), request.node.nodeid


def test_every_spark_test_is_in_the_spark_group(request) -> None:
    _on_a_loadgroup_worker(request)
    items = request.session.items
    spark = [item for item in items if is_spark_test(item)]
    assert [item.nodeid for item in spark if not item.nodeid.endswith("@spark")] == []
    spark_modules = {_module(item.nodeid) for item in spark}
    # a module whose Spark test this run deselects (``-m``) stays grouped: it was one when collected
    spark_modules |= {_module(m) for m in request.config.spark_modules}
    others = [item.nodeid for item in items if item.nodeid.endswith("@spark") and not is_spark_test(item)]
    assert [n for n in others if _module(n) not in spark_modules] == []
