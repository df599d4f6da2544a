"""``make run`` serves with gunicorn: a fixed pool of workers and threads, so a fixed number
of database connections (``test_bench_smoke`` serves real requests through the same command
and checks ``pg_stat_activity``)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.management.commands import runall


def test_make_run_serves_with_gunicorn_not_runserver(monkeypatch: Any) -> None:
    started: dict[str, list[str]] = {}

    class FakeProcess:
        returncode = 0

        def __init__(self, command: list[str], **kwargs: Any) -> None:
            started[command[2] if command[1] == "-m" else command[1]] = command

        def poll(self) -> int:
            return 0  # every process "exits" at once: the command stops all of them

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(runall, "call_command", lambda *a, **k: None)
    monkeypatch.setattr(runall.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(runall.signal, "signal", lambda *a: None)
    monkeypatch.setenv("DATABASE_URL", "postgres://unused/crm")
    with pytest.raises(SystemExit):  # a process that exits stops the others, with an error
        runall.Command().handle(addr="127.0.0.1:8123", no_demo=True, workers=3, threads=4)

    web = started["gunicorn"]
    assert "crm.wsgi:application" in web
    assert {"--bind=127.0.0.1:8123", "--workers=3", "--threads=4", "--worker-class=gthread"} <= set(
        web
    )
    assert not any("runserver" in part for part in web)
    assert "celery" in started
