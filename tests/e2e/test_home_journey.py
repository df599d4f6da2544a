"""Journey: the data steward opens the home page and finds work waiting
(duplicates, an import with rejected rows), saves a filtered customer list as a view, opens
it again, and tags the selected customers after confirming the count; desktop and 360 px."""

from __future__ import annotations

import re

import pytest

from crm import services
from crm.demo import load_platform_demo
from crm.demo_workspace import SAMPLE_FILENAME, import_with_errors
from crm.models import BusinessUnit, CustomerTag, Identity, SavedView, Tag, TagCategory, User
from crm.services import IdentityInput
from tests.e2e.conftest import name_sources, shoot
from tests.e2e.test_jobs_and_keys_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def arrange() -> Tag:
    load_platform_demo()
    name_sources()
    units = {u.code: u for u in BusinessUnit.objects.all()}
    names = ["王伟", "李娜", "张敏", "刘洋", "陈静"]
    for n, name in enumerate(names):
        a = services.resolve_customer(
            identities=[IdentityInput("mobile", f"138001{n:05d}")],
            attributes={"display_name": name, "region": "上海"},
            source="pos",
        ).customer
        b = services.resolve_customer(
            identities=[IdentityInput("mobile", f"139001{n:05d}")],
            attributes={"display_name": name},
            source="property_desk",
        ).customer
        services.record_duplicate_candidate(
            first=a, second=b, reason="name_phone_suffix", detail="pos", score=60 + n
        )
    services.resolve_customer(
        identities=[IdentityInput("uscc", "91350100M000100Y43")],
        attributes={"display_name": "星辰贸易有限公司"},
        source="crm",
    )
    import_with_errors(unit=units["MART"], user=User.objects.get(username="marketing"))
    return Tag.objects.create(category=TagCategory.objects.create(name="价值"), name="重点客户")


def test_steward_home_saved_view_and_bulk_tag(page):
    from playwright.sync_api import expect

    tag = arrange()
    sign_in(page, "steward")  # the demo's data steward
    expect(page.locator("[data-card=duplicates-waiting] [data-testid=work-item]")).to_have_count(5)
    imports_card = page.locator("[data-card=import-errors]")
    expect(imports_card.get_by_test_id("work-item")).to_have_count(1)
    expect(imports_card).to_contain_text(SAMPLE_FILENAME)
    expect(imports_card).to_contain_text("门店收银 · 3 行被拒绝")  # the source by its name
    expect(page.locator("[data-card=duplicates-waiting]")).to_contain_text("待审核的重复客户")
    shoot(page, "home-steward-zh")

    # The import's card opens its job page, where the rejected rows are.
    imports_card.get_by_test_id("work-item").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"))

    # Filter the list, save the filter as a view, come back to it from the dropdown.
    page.goto("/customers/")
    page.get_by_test_id("filter-kind").select_option("person")
    expect(page).to_have_url(re.compile(r"kind=person"))
    page.get_by_test_id("saved-view-name").fill("个人客户")
    page.get_by_test_id("saved-view-save").click()
    expect(page.get_by_test_id("saved-view-saved")).to_contain_text("视图“个人客户”已保存")
    view = SavedView.objects.get(user__username="steward")
    assert view.query == "kind=person"
    page.goto("/customers/")
    page.get_by_test_id("saved-views-toggle").click()
    page.get_by_test_id("saved-view-link").filter(has_text="个人客户").click()
    expect(page).to_have_url(re.compile(r"\?kind=person"))
    expect(page.get_by_test_id("filter-kind")).to_have_value("person")
    expect(page.get_by_test_id("saved-views-toggle")).to_contain_text("个人客户")

    # Select two rows, choose the tag, confirm the count in the dialog.
    rows = page.get_by_test_id("customer-row")
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=checkbox]").check()
    page.get_by_test_id("bulk-tag").select_option(str(tag.pk))
    page.get_by_test_id("bulk-apply").click()
    modal = page.get_by_test_id("confirm-modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("为 2 位客户添加标签“价值: 重点客户”？")
    shoot(page, "customers-bulk-tag-confirm-zh")
    page.get_by_test_id("confirm-yes").click()
    expect(page.locator(".alert-success")).to_contain_text("已为 2 位客户中的 2 位添加标签")
    assert CustomerTag.objects.filter(tag=tag).count() == 2
    assert re.search(r"kind=person", page.url)

    # Select all on the page: the dialog counts every row shown.
    page.get_by_test_id("bulk-select-all").check()
    page.get_by_test_id("bulk-tag").select_option(str(tag.pk))
    page.get_by_test_id("bulk-apply").click()
    expect(modal).to_contain_text("为 12 位客户添加标签")  # 10 + 2 from the import
    page.get_by_test_id("confirm-no").click()
    shoot(page, "customers-saved-view-zh")

    # A phone's width: the home page and the list stay within the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")
    expect(page.locator("[data-card=duplicates-waiting]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shoot(page, "home-steward-zh-360")
    page.goto("/customers/?kind=person")
    expect(page.get_by_test_id("saved-views-toggle")).to_contain_text("个人客户")
    shoot(page, "customers-list-zh-360")


def test_create_with_a_live_duplicate_warning_then_export(page):
    from playwright.sync_api import expect

    arrange()
    wang = Identity.objects.get(type="mobile", value="+8613800100000").customer
    sign_in(page, "admin")
    page.goto("/customers/")
    page.get_by_test_id("customer-create").click()
    expect(page).to_have_url(re.compile(r"/customers/new/$"))
    page.fill("input[name=display_name]", "王伟")
    page.fill("input[name=mobile]", "138 0010 0000")  # 王伟's phone
    page.locator("input[name=email]").click()  # leaving the field fires the check
    warning = page.get_by_test_id("duplicate-warning-item")
    expect(warning).to_contain_text("已有客户使用此手机号")
    expect(warning).to_contain_text(f"王伟 (#{wang.pk})")
    page.fill("input[name=mobile]", "12345")
    page.get_by_test_id("customer-create-submit").click()
    expect(page.locator(".invalid-feedback")).not_to_have_count(0)
    shoot(page, "customer-create-errors-zh")
    page.fill("input[name=mobile]", "13700000000")
    page.fill("input[name=email]", "lin@example.com")
    page.locator("select[name=business_unit]").select_option(label="星辰超市连锁有限公司 (MART)")
    page.get_by_test_id("customer-create-submit").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("客户已创建")

    # Export the organizations as an Excel file: a job with progress, then the download.
    page.goto("/customers/?kind=organization")
    page.get_by_test_id("export-toggle").click()
    page.get_by_test_id("export-format").select_option("xlsx")
    page.get_by_test_id("export-submit").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    expect(page.get_by_test_id("export-download")).to_be_visible()
    shoot(page, "customers-export-job-zh")
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    assert download.value.suggested_filename.endswith(".xlsx")
