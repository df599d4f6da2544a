"""``make run``: migrate, load the demo once, then web + Celery worker + beat in one command.

The web server is gunicorn (a fixed number of worker processes, each with a fixed pool of
threads), not ``runserver``: runserver starts a new thread per request, and each thread kept
its persistent database connection open after it ended, so after a few thousand requests
PostgreSQL refused new clients ("too many clients"). With gunicorn the number of database
connections is bounded by workers x threads whatever the number of requests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, USERS
from crm.models import BusinessUnit

WEB_WORKERS = 3
WEB_THREADS = 4


def gunicorn_command(
    addr: str,
    *,
    workers: int = WEB_WORKERS,
    threads: int = WEB_THREADS,
    python: str = sys.executable,
    access_log: bool = True,
    log_level: str = "info",
    app: str = "crm.wsgi:application",
) -> list[str]:
    """The web server of ``make run`` (also started by the HTTP benchmarks, which may serve
    another ``app`` with the same command: the floor of ``tests/bench/http_floor.py``)."""
    command = [
        python,
        "-m",
        "gunicorn",
        app,
        f"--bind={addr}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        "--timeout=120",
        "--graceful-timeout=5",
        f"--log-level={log_level}",
    ]
    if access_log:
        command.append("--access-logfile=-")
    return command


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and the beat scheduler together (Ctrl-C stops all)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default=os.environ.get("CRM_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", WEB_WORKERS))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("WEB_THREADS", WEB_THREADS))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=1)
        if not options["no_demo"] and not BusinessUnit.objects.exists():
            self.stdout.write("Loading the demo data (first run only)…")
            call_command("load_demo", verbosity=0)
        env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"]}
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "crm"]
        commands = {
            "web": gunicorn_command(
                options["addr"], workers=options["workers"], threads=options["threads"]
            ),
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        procs = {
            name: subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR)  # noqa: S603
            for name, cmd in commands.items()
        }
        self._banner(options["addr"])
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with code {proc.returncode}; stopping all.")
                    exit_code = proc.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stdout.write("Stopped web, worker and beat.")
        if exit_code:
            sys.exit(exit_code)

    def _banner(self, addr: str) -> None:
        url = f"http://{addr}/"
        lines = [
            "",
            "=" * 64,
            f"  Group CRM is running at {url}",
            f"  Admin UI: {url}admin/    API docs: {url}api/docs/",
            "  Demo logins (password for all: " + DEMO_PASSWORD + "):",
            *(f"    {u.username:<10} {u.role}" for u in USERS),
            "  Press Ctrl-C to stop the web server, worker and beat.",
            "=" * 64,
            "",
        ]
        self.stdout.write("\n".join(lines))
