"""Schema-driven fuzzing: every operation of the API's own OpenAPI document, called in-process
through the whole WSGI stack (middleware, CSRF, authentication, throttling) on PostgreSQL.

Each operation runs twice: as a partner's API key holding every scope, and as a signed-in
staff user with a session cookie and a CSRF token. Every response must be no 5xx, have a
documented status code and content type, and a body matching its documented schema
(``application/problem+json`` for errors). ``FUZZ_EXAMPLES`` sets the examples per operation:
a bounded number in ``make test``, many in ``make fuzz``.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
import zlib
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from accounts import services as account_services
from crm import services
from crm.models import BusinessUnit, Customer, Job, JobStatus, RateCounter, Transaction
from crm.models.platform import FINISHED_JOB_STATUSES
from crm.scopes import known_scopes
from tests.factories import BusinessUnitFactory, UserFactory

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
# A survey: with FUZZ_REPORT=path, failures are appended there (JSON lines) and the run goes
# on, so one failure does not hide the next one on the same operation.
FUZZ_REPORT = os.environ.get("FUZZ_REPORT")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,  # acts in the coverage phase (`make fuzz`): 405 for undeclared methods
]


class InProcessApp(WSGIHandler):
    """Django's WSGI application, minus closing the connection after each request: the test's
    transaction must survive (Django's own test client does the same). ``exception`` is what the
    last request raised, if it was a 500."""

    exception: str = ""

    def on_exception(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        self.exception = f"{type(exc).__name__}: {exc}"[:300]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.exception = ""
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        got_request_exception.connect(self.on_exception)
        try:
            response = super().__call__(environ, start_response)
            content = b"".join(response)
            response.close()
            return [content]
        finally:
            got_request_exception.disconnect(self.on_exception)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def openapi_document() -> dict[str, Any]:
    """The document ``/api/v1/schema/`` serves, generated in-process."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(openapi_document())
app = InProcessApp()
schema.app = app
schema.config.generation.update(
    max_examples=FUZZ_EXAMPLES,
    with_security_parameters=False,
    deterministic=not LONG_RUN,
    no_shrink=not LONG_RUN,
)
# The coverage phase's boundary values are hundreds of calls per operation: `make fuzz` only.
schema.config.phases.coverage.enabled = LONG_RUN


class Principal:
    """How one caller signs its requests."""

    def __init__(self, name: str, headers: dict[str, str], cookies: dict[str, str]) -> None:
        self.name = name
        self.headers = headers
        self.cookies = cookies


def order(unit: BusinessUnit, external_id: str, mobile: str) -> Transaction:
    stored, _ = services.ingest_transaction(
        business_unit=unit,
        source="pos",
        row=services.TransactionInput(
            external_id=external_id,
            occurred_at=timezone.now(),
            amount="268.50",
            channel="store",
            identities=[services.IdentityInput("mobile", mobile, True)],
        ),
    )
    return stored


def job_state(status: str) -> dict[str, Any]:
    finished = status in FINISHED_JOB_STATUSES
    return {"status": status, "finished_at": timezone.now() if finished else None}


@pytest.fixture
def world(db: Any) -> dict[str, list[str]]:
    """Rows the fuzzer's ids are aimed at: units, customers with orders (one of them merged
    into another), a queued and a finished job."""
    unit = BusinessUnitFactory(code="AUTO", name="星辰汽车")
    BusinessUnitFactory(code="PROP", name="星辰物业")
    survivor = order(unit, "F-1", "13800138000").customer
    loser = order(unit, "F-2", "13900139000").customer
    services.merge_customers(survivor=survivor, loser=loser, actor=None, reason="fuzz")
    for status in (JobStatus.QUEUED, JobStatus.SUCCEEDED):
        Job.objects.create(kind="crm.housekeeping", business_unit=unit, **job_state(status))
    account = account_services.create_account(
        uscc="91310000MA1FL8XQ37", name="星辰科技有限公司", user=None, business_unit=unit
    ).account
    account_services.recompute_credit(account=account)  # a credit profile to look up
    return {
        "accounts": [str(account.pk)],
        "business-units": [str(pk) for pk in BusinessUnit.objects.values_list("pk", flat=True)],
        "customers": [str(pk) for pk in Customer.objects.values_list("pk", flat=True)],
        "jobs": [str(pk) for pk in Job.objects.values_list("pk", flat=True)],
        "transactions": [str(pk) for pk in Transaction.objects.values_list("pk", flat=True)],
    }


@pytest.fixture
def partner(world: dict[str, list[str]]) -> Principal:
    unit = BusinessUnit.objects.get(code="AUTO")
    issued = services.issue_api_key(name="Fuzzer", business_unit=unit, scopes=list(known_scopes()))
    for status in (JobStatus.QUEUED, JobStatus.SUCCEEDED):  # a partner sees the jobs it started
        job = Job.objects.create(
            kind="crm.housekeeping", business_unit=unit, api_key=issued.api_key, **job_state(status)
        )
        world["jobs"].append(str(job.pk))
    return Principal("partner", {"Authorization": f"Api-Key {issued.raw_key}"}, {})


@pytest.fixture
def staff(world: dict[str, list[str]]) -> Principal:
    from crm.roles import ADMIN

    user = UserFactory(
        username="fuzz_admin",
        roles=[ADMIN],
        units=list(BusinessUnit.objects.all()),
        is_staff=True,
    )
    client = Client()
    client.force_login(user)
    csrf = _get_new_csrf_string()
    return Principal(
        "staff",
        {"X-CSRFToken": csrf},
        {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
    )


def aim(case: schemathesis.Case, world: dict[str, list[str]]) -> None:
    """Point half the generated ids at rows that exist, so detail routes get past their 404."""
    ident = (case.path_parameters or {}).get("id")
    if ident is None:
        return
    rows = world.get(case.operation.path.split("/")[3], [])
    digest = zlib.crc32(repr(ident).encode())
    if rows and digest % 2 == 0:
        case.path_parameters["id"] = rows[digest // 2 % len(rows)]


def call_and_check(case: schemathesis.Case, principal: Principal) -> None:
    headers = dict(principal.headers)
    if case.method.upper() == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    RateCounter.objects.all().delete()  # throttle counters: each example is its own client
    with transaction.atomic():
        response = case.call(headers=headers, cookies=principal.cookies)
        transaction.set_rollback(True)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (Failure, FailureGroup) as found:
        if FUZZ_REPORT is None:
            raise
        failures = found.exceptions if isinstance(found, FailureGroup) else (found,)
        with open(FUZZ_REPORT, "a") as report:
            for failure in failures:
                line = {
                    "operation": case.operation.label,
                    "as": principal.name,
                    "failure": f"{failure.code} {failure.title}",
                    "message": failure.message[:500],
                    "status": response.status_code,
                    "exception": app.exception,
                    "body": response.text[:500],
                    "curl": case.as_curl_command(headers=headers)[:2000],
                }
                report.write(json.dumps(line, ensure_ascii=False) + "\n")


FUZZ_SETTINGS = settings(
    deadline=None,
    database=None if not LONG_RUN else settings().database,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_partner_key(
    case: schemathesis.Case,
    partner: Principal,
    world: dict[str, list[str]],
) -> None:
    aim(case, world)
    call_and_check(case, partner)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_signed_in_staff(
    case: schemathesis.Case,
    staff: Principal,
    world: dict[str, list[str]],
) -> None:
    aim(case, world)
    call_and_check(case, staff)


@pytest.mark.django_db
@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(3, FUZZ_EXAMPLES // 10))
def test_fuzz_without_credentials(case: schemathesis.Case, world: dict[str, list[str]]) -> None:
    """A caller without credentials, or with a stale session and no CSRF token: a documented
    401 or 403 problem on every operation, never a 5xx."""
    aim(case, world)
    call_and_check(case, Principal("nobody", {}, {"sessionid": "expired"}))
