"""Journey with the Content-Security-Policy enforced: an administrator goes through the main
screens (dashboard, customers, the 360 view with its chart, duplicates, jobs, API keys, the API
documentation) and the browser reports no policy violation and no script error, while charts
draw and htmx still swaps (search, reveal)."""

from __future__ import annotations

import pytest

from crm.models import ApiKey, Customer
from tests.e2e.conftest import shoot
from tests.e2e.test_customer_journey import arrange
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Runs in every document before its own scripts: keeps each violation the page reports, and
# says it on the console too (where the test listens across navigations).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var text = e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber;
  window.__cspViolations.push(text);
  console.error("CSP violation: " + text);
});
"""


class Watcher:
    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def console(self, message) -> None:
        text = message.text
        if message.type in ("error", "warning") and (
            "Content Security Policy" in text or "CSP violation" in text or "Refused to" in text
        ):
            self.problems.append(text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, f"{url} is not served with the enforced policy"
        assert "content-security-policy-report-only" not in response.headers
        self.page.wait_for_load_state("load")

    def check(self, where: str) -> None:
        reported = self.page.evaluate("window.__cspViolations || []")
        assert reported == [], f"{where}: {reported}"
        assert self.problems == [], f"{where}: {self.problems}"


def test_main_screens_run_under_the_enforced_policy(page):
    from playwright.sync_api import expect

    arrange()
    watcher = Watcher(page)
    sign_in(page, "admin")
    page.wait_for_url("**/")
    watcher.check("sign-in")

    watcher.visit("/")
    expect(page.get_by_test_id("per-role-chart").locator("svg")).to_have_count(1)  # ECharts drew
    expect(page.get_by_test_id("nav").locator("[data-nav=api-docs]")).to_be_visible()
    shoot(page, "csp-dashboard-zh")
    page.get_by_test_id("global-search").fill("王伟")  # htmx: the search dropdown
    expect(page.locator("#search-dropdown a").first).to_be_visible()
    page.keyboard.press("Escape")  # crm.js closes it
    expect(page.locator("#search-dropdown a")).to_have_count(0)
    watcher.check("dashboard")

    watcher.visit("/customers/")
    page.get_by_test_id("customer-search").fill("0013 8")  # htmx: the list filters in place
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    watcher.check("customer list")

    customer = Customer.objects.get(display_name="王伟")
    watcher.visit(f"/customers/{customer.pk}/")
    expect(page.locator("#unit-chart canvas")).to_have_count(1)  # ECharts drew the unit chart
    page.get_by_test_id("reveal-phone").click()  # htmx POST, swapped into the header
    expect(page.get_by_test_id("revealed-value")).to_have_text("138 0013 8000")
    shoot(page, "csp-customer-360-zh")
    watcher.check("360 view")

    watcher.visit(f"/customers/{customer.pk}/?tab=timeline")
    with page.expect_navigation():  # <select data-autosubmit>: no onchange= handler any more
        page.locator("select[name=type]").select_option(index=1)
    assert "type=" in page.url
    watcher.check("timeline filter")

    watcher.visit("/duplicates/")
    expect(page.get_by_test_id("nav").locator("[data-nav=duplicates]")).to_have_class(
        "nav-item active"
    )
    watcher.check("duplicates")

    watcher.visit("/jobs/")
    page.get_by_test_id("run-housekeeping").click()  # data-confirm: the modal asks
    expect(page.get_by_test_id("confirm-modal")).to_be_visible()
    page.get_by_test_id("confirm-no").click()
    expect(page.get_by_test_id("confirm-modal")).to_be_hidden()
    watcher.check("jobs")

    for url in ("/admin/", "/admin/crm/customer/", f"/admin/crm/customer/{customer.pk}/change/"):
        watcher.visit(url)  # the administration runs under the same policy
    watcher.check("administration")

    watcher.visit("/admin/crm/apikey/add/")
    page.fill("input[name=name]", "网店")
    page.locator(".select2-selection").first.click()  # the admin's own scripts still run
    page.locator(".select2-search__field").fill("MART")
    page.locator(".select2-results__option", has_text="MART").click()
    page.check("input[name=scopes][value='business_units:read']")
    page.locator("input[name=_save]").click()
    raw = page.get_by_test_id("raw-key").input_value()
    page.get_by_test_id("copy-raw-key").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    shoot(page, "csp-api-key-issued-zh")
    page.reload()  # the refresh neither issues another key nor shows this one again
    expect(page.get_by_test_id("raw-key")).to_have_count(0)
    assert raw not in page.content()
    assert ApiKey.objects.filter(name="网店").count() == 1
    watcher.check("API keys")

    page.get_by_test_id("open-crm").click()
    page.get_by_test_id("nav").locator("[data-nav=api-docs] a").click()
    page.wait_for_url("**/api/docs/")
    expect(page.locator(".swagger-ui .opblock-summary-description").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("按身份标识查找客户")
    shoot(page, "csp-api-docs-zh")
    watcher.check("API docs")

    watcher.visit("/")
    page.get_by_test_id("lang-en").first.click()  # a form POST: form-action 'self'
    expect(page.get_by_test_id("nav")).to_contain_text("API documentation")
    watcher.visit("/api/docs/")
    expect(page.locator(".swagger-ui")).to_contain_text("Find customers by an identity")
    page.locator(".opblock-summary", has_text="/api/v1/customers/").first.click()
    expect(page.locator(".opblock-description-wrapper").first).to_contain_text("normalized")
    shoot(page, "csp-api-docs-en")
    watcher.check("API docs in English")
