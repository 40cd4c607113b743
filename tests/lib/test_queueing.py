"""`left_to_sweeper` (verify_platform/lib/queueing.py): a broker outage is a warning, any
other failure an error with its traceback, and neither reaches the caller. It and the apps'
enqueue modules, which domain code imports, depend on neither the Celery app module nor the
tasks modules (which import the domain)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import kombu.exceptions
import pytest
import redis

from verify_platform.lib.queueing import BROKER_ERRORS, left_to_sweeper

ROOT = Path(__file__).resolve().parent.parent.parent
log = logging.getLogger("tests.queueing")


@pytest.mark.parametrize(
    "error",
    [
        kombu.exceptions.OperationalError("down"),
        kombu.exceptions.ChannelError("closed"),
        kombu.exceptions.ConnectionError("closed"),
        kombu.exceptions.LimitExceeded(),
        redis.exceptions.ConnectionError("refused"),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_an_outage_is_a_warning(error, caplog):
    assert isinstance(error, BROKER_ERRORS)
    with left_to_sweeper(log, "row %s", "R1"):
        raise error
    (record,) = caplog.records
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert record.getMessage() == "could not queue row R1; left to the sweeper"


def test_a_defect_is_an_error_with_its_traceback(caplog):
    with left_to_sweeper(log, "row %s", "R2"):
        raise ValueError("a defect")
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info[0] is ValueError
    assert record.getMessage() == "queueing row R2 failed; left to the sweeper"


def test_success_logs_nothing(caplog):
    with left_to_sweeper(log, "row %s", "R3"):
        pass
    assert caplog.records == []


def imported(path: Path) -> set[str]:
    """The modules a source file imports (absolute names, any nesting)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(
    "path",
    ["verify_platform/lib/queueing.py", "challenges/enqueue.py", "services/webhooks/enqueue.py"],
)
def test_the_queueing_modules_import_neither_the_celery_app_nor_the_tasks(path):
    """Domain code imports these; the tasks modules import the domain, and the Celery app
    module sits above both."""
    above = {"verify_platform.celery", "verify_platform.celery_app"}
    assert not imported(ROOT / path) & {*above, "challenges.tasks", "services.tasks"}
