"""Journey (zh-Hans): a sales rep imports a GBK account file from the accounts area: the
columns are recognised, the dry run shows the rejected row (bad USCC) with its line and
column, the file is imported from the dry run; then a contacts file the same way."""

from __future__ import annotations

import csv
import io

import pytest

from accounts.models import Account, Contact
from crm.roles import SALES_REP
from tests.accounts.conftest import make_uscc
from tests.e2e.conftest import shoot
from tests.factories import BusinessUnitFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def write(path, header, rows):
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    path.write_bytes(out.getvalue().encode("gbk"))
    return str(path)


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct-horse-battery")
    page.get_by_test_id("login-submit").click()


def test_rep_imports_accounts_then_contacts(page, tmp_path):
    from playwright.sync_api import expect

    unit = BusinessUnitFactory(code="AUTO", name="星辰汽车")
    UserFactory(username="rep", roles=[SALES_REP], units=[unit])
    good = make_uscc(4001)
    accounts = write(
        tmp_path / "客户.csv",
        ["公司名称", "统一社会信用代码", "行业", "规模", "城市"],
        [
            ["星辰控股有限公司", good, "制造业", "大型", "上海"],
            ["坏代码公司", good[:17] + "X", "", "", ""],
        ],
    )
    sign_in(page, "rep")
    page.goto("/accounts/import/")
    shoot(page, "accounts-import-upload")
    page.set_input_files("#id_file", accounts)
    page.get_by_test_id("record-import-submit").click()
    expect(page.locator("#id_col_uscc")).to_have_value("1")
    shoot(page, "accounts-import-map")
    page.get_by_test_id("import-dry-run-start").click()
    expect(page.get_by_test_id("import-errors")).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("import-errors")).to_contain_text("统一社会信用代码")
    shoot(page, "accounts-import-dry-run")
    assert not Account.objects.exists()
    page.get_by_test_id("import-confirm").click()
    expect(page.get_by_test_id("job-result")).to_be_visible(timeout=30000)
    assert Account.objects.get().city == "上海"

    contacts = write(
        tmp_path / "联系人.csv",
        ["姓名", "手机", "角色", "主要联系人", "公司名称"],
        [["王芳", "13800138000", "决策者、采购", "是", "星辰控股有限公司"]],
    )
    page.goto("/accounts/import/?kind=contacts")
    page.check("input[name=kind][value=contacts]")
    page.set_input_files("#id_file", contacts)
    page.get_by_test_id("record-import-submit").click()
    page.get_by_test_id("import-start").click()
    expect(page.get_by_test_id("job-result")).to_be_visible(timeout=30000)
    shoot(page, "accounts-import-contacts-done")
    assert Contact.objects.get().is_primary
