"""Production settings: ``check --deploy`` is clean; missing secrets fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-like-secret-key-with-enough-length-and-variety-0123456789",
    "ALLOWED_HOSTS": "crm.example.com",
    "DATABASE_URL": "postgres://crm@db.invalid:5432/crm",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    "DJANGO_SETTINGS_MODULE": "crm.settings",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser tests; it has no place in production.
    unwanted = {*PRODUCTION, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION}
    env.pop("SECRET_KEY")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_fall_back_to_the_embedded_database_or_broker():
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        env = {k: v for k, v in PRODUCTION.items() if k != name}
        result = run_manage("check", env=env)
        assert result.returncode != 0
        assert f"{name} is not set" in result.stderr
