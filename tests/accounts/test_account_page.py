"""The account page: header, contacts by department with role badges and inline role editing,
the group tree, relations, opportunities, the master's timeline/transactions, the blacklist
banner; its forms through the services; the create form; constant query counts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Account, Contact
from crm import services as crm_services
from crm.models import BusinessUnit, CustomerKind, IdentityType, User
from crm.services import IdentityInput, TransactionInput
from tests.accounts.conftest import make_uscc, phone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _grow(account: Account, user: User, unit: BusinessUnit, start: int, n: int, roles, stages):
    """``n`` contacts in two departments, ``n`` opportunities, relations to new accounts."""
    for i in range(start, start + n):
        services.add_contact(
            account=account,
            identities=phone(i),
            name=f"联系人{i}",
            user=user,
            roles=[roles["purchaser"], roles["finance"]] if i % 2 else [roles["technical"]],
            department="采购部" if i % 2 else "信息部",
        )
        services.create_opportunity(
            account=account,
            name=f"机会{i}",
            owner=user,
            business_unit=unit,
            user=user,
            amount="1000",
            stage=stages["proposal"],
        )


def test_page_shows_everything(
    make_account: Callable[..., Account], rep_a: User, unit_a, roles, stages, client
):
    group = make_account("星辰集团", fields={"industry": "K", "status": "active"})
    account = make_account("星辰科技有限公司", fields={"industry": "I", "province": "上海"})
    child = make_account("星辰软件")
    partner = make_account("东方物流")
    services.set_parent(account=account, parent=group, user=rep_a)
    services.set_parent(account=child, parent=account, user=rep_a)
    services.add_relation(from_account=partner, to_account=account, kind="supplier", user=rep_a)
    services.add_contact(
        account=account,
        identities=phone(77),
        name="陈建国",
        user=rep_a,
        roles=[roles["decision_maker"]],
        department="总经办",
        is_primary=True,
    )
    _grow(account, rep_a, unit_a, 1, 2, roles, stages)
    client.force_login(rep_a)
    response = client.get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    uscc = account.customer.identities.get(type=IdentityType.USCC).value
    assert uscc in html and "信息传输、软件和信息技术服务业" in html
    assert html.count('data-testid="department"') == 3  # 总经办, 采购部, 信息部
    assert "决策者" in html and "采购" in html and 'data-testid="primary-badge"' in html
    assert "138****0077" in html and "13800130077" not in html  # phones masked
    depths = [int(d) for d in _attr(html, "data-depth")]
    assert depths == [-1, 0, 1]  # the group, this account, its subsidiary
    assert "东方物流" in html and 'data-testid="relation"' in html
    assert html.count('data-testid="opportunity-row"') == 2 and "¥1,000.00" in html
    assert 'data-testid="timeline"' in html  # the master's timeline (contact added…)
    units = html.split('data-testid="account-units">', 1)[1].split("</span></span>", 1)[0]
    assert units == '<span class="badge bg-secondary-lt me-1" title="星辰汽车">AUTO'
    assert "accounts/credit/section.html" not in html  # the lead's spot is a template comment
    crm_services.ingest_transactions(
        business_unit=unit_a,
        source="erp",
        rows=[
            TransactionInput(
                external_id="SO-1",
                occurred_at=timezone.now(),
                amount=Decimal("52000.00"),
                channel="erp",
                identities=[IdentityInput("uscc", uscc)],
            )
        ],
    )
    tx = client.get(reverse("accounts:detail", args=[account.pk]) + "?tab=transactions")
    assert 'data-testid="transaction-row"' in tx.content.decode()
    assert "¥52,000.00" in tx.content.decode()


def test_role_badges_in_the_users_language(
    make_account: Callable[..., Account], rep_a: User, roles, client
):
    account = make_account()
    services.add_contact(
        account=account,
        identities=phone(5),
        name="陈建国",
        user=rep_a,
        roles=[roles["decision_maker"], roles["purchaser"]],
    )
    url = reverse("accounts:detail", args=[account.pk])
    client.force_login(rep_a)
    assert '<span class="badge bg-blue-lt me-1" data-testid="role-badge">决策者</span>' in (
        client.get(url).content.decode()
    )
    rep_a.language = "en"
    rep_a.save(update_fields=["language"])
    html = client.get(url).content.decode()
    assert (
        '<span class="badge bg-blue-lt me-1" data-testid="role-badge">Decision maker</span>' in html
    )
    assert "决策者" not in html


def test_the_group_tree_walks_up_and_down_and_hides_what_is_out_of_scope(
    make_account: Callable[..., Account], rep_a: User, unit_b, client
):
    top = make_account("远方控股", unit=unit_b)  # outside rep_a's units
    group = make_account("星辰集团")
    account = make_account("星辰科技有限公司")
    child = make_account("星辰软件")
    grandchild = make_account("星辰云")
    sibling = make_account("星辰物流")  # the group's other subsidiary: not in this tree
    for sub, parent in (
        (group, top),
        (account, group),
        (sibling, group),
        (child, account),
        (grandchild, child),
    ):
        services.set_parent(account=sub, parent=parent, user=rep_a)
    client.force_login(rep_a)
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    tree = html[html.index('data-testid="hierarchy"') : html.index('data-testid="relations"')]
    assert [int(d) for d in _attr(tree, "data-depth")] == [-2, -1, 0, 1, 2]
    # the top ancestor is in another unit: a node without its name or a link
    assert "远方控股" not in tree
    assert f'href="{reverse("accounts:detail", args=[top.pk])}"' not in tree
    for shown in (group, child, grandchild):
        assert f'href="{reverse("accounts:detail", args=[shown.pk])}"' in tree
    assert "星辰集团" in tree and "星辰软件" in tree and "星辰云" in tree
    assert "星辰物流" not in tree


def _attr(html: str, name: str) -> list[str]:
    import re

    return re.findall(rf'{name}="(-?\d+)"', html)


def test_query_count_is_constant_in_contacts_opportunities_relations(
    make_account, rep_a: User, unit_a, roles, stages, client, django_assert_num_queries
):
    account = make_account("星辰科技有限公司")
    _grow(account, rep_a, unit_a, 1, 3, roles, stages)
    services.add_relation(
        from_account=account, to_account=make_account("甲"), kind="partner", user=rep_a
    )
    url = reverse("accounts:detail", args=[account.pk])
    client.force_login(rep_a)
    client.get(url)
    # 17 + the credit section (3, constant: the evidence page carries its total, the
    # blacklist entry is the banner's); the contact roles are read once for the rows'
    # names and the add form's choices (21 -> 20); the credit profile is joined to the
    # header's query with its units' badges, the group tree is one query, the roles' names
    # come with the contacts (18 -> 14)
    with django_assert_num_queries(14) as few:
        assert client.get(url).status_code == 200
    _grow(account, rep_a, unit_a, 100, 27, roles, stages)
    for i in range(5):
        other = make_account(f"乙{i}")
        services.add_relation(from_account=other, to_account=account, kind="supplier", user=rep_a)
        services.set_parent(account=other, parent=account, user=rep_a)
    assert Contact.objects.filter(account=account).count() == 30
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="contact-row"') == 30


def test_inline_role_editing_returns_the_row(make_account, rep_a: User, roles, client):
    account = make_account()
    contact = services.add_contact(
        account=account, identities=phone(5), name="刘芳", user=rep_a, roles=[roles["purchaser"]]
    )
    client.force_login(rep_a)
    response = client.post(
        reverse("accounts:contact-roles", args=[account.pk, contact.pk]),
        {"roles": [roles["finance"].pk, roles["legal"].pk]},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert (response.status_code == 200 and html.startswith("<tr")) or "<tr" in html[:40]
    assert "财务" in html and "法务" in html and 'data-testid="roles-saved"' in html
    assert {r.code for r in Contact.objects.get(pk=contact.pk).roles.all()} == {"finance", "legal"}


def test_rows_carry_no_forms_and_the_editor_loads_on_demand(
    make_account, rep_a: User, roles, client
):
    account = make_account()
    contact = services.add_contact(
        account=account, identities=phone(5), name="刘芳", user=rep_a, roles=[roles["purchaser"]]
    )
    client.force_login(rep_a)
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    row = html[html.index(f'id="contact-{contact.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "<form" not in row and "csrfmiddlewaretoken" not in row
    editor_url = reverse("accounts:contact-editor", args=[account.pk, contact.pk])
    assert f'href="{editor_url}"' in row and f'hx-get="{editor_url}"' in row
    fragment = client.get(editor_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<tr") and f'id="contact-{contact.pk}"' in fragment
    assert 'data-testid="role-editor"' in fragment and 'data-testid="contact-left"' in fragment
    assert fragment.count('name="roles"') == len(roles) and "checked" in fragment
    back = client.get(editor_url + "?view=row", HTTP_HX_REQUEST="true").content.decode()
    assert "<form" not in back and 'data-testid="role-badge"' in back
    page = client.get(editor_url)  # without JavaScript: a page of its own
    assert page.status_code == 200 and 'data-testid="contact-editor-page"' in page.content.decode()
    assert "hx-post" not in page.content.decode().split('data-testid="contact-editor-page"')[1]
    saved = client.post(
        reverse("accounts:contact-roles", args=[account.pk, contact.pk]),
        {"roles": [roles["legal"].pk]},
    )
    assert saved.status_code == 302
    assert {r.code for r in Contact.objects.get(pk=contact.pk).roles.all()} == {"legal"}
    other = make_account("乙公司")
    assert (
        client.get(reverse("accounts:contact-editor", args=[other.pk, contact.pk])).status_code
        == 404
    )


def test_a_department_shows_twenty_then_all(make_account, rep_a: User, roles, client):
    account = make_account()
    for i in range(25):
        services.add_contact(
            account=account,
            identities=phone(100 + i),
            name=f"员工{i:02d}",
            user=rep_a,
            roles=[roles["key_user"]],
            department="信息部",
        )
    services.add_contact(account=account, identities=phone(99), name="王总", user=rep_a)
    client.force_login(rep_a)
    url = reverse("accounts:detail", args=[account.pk])
    html = client.get(url).content.decode()
    assert html.count('data-testid="contact-row"') == 21  # 20 of 信息部, 1 without department
    assert 'data-testid="department-total">25<' in html
    assert (
        html.count('data-testid="show-all"') == 1
        and "?group=d%3A%E4%BF%A1%E6%81%AF%E9%83%A8" in html
    )
    rest = client.get(url, {"partial": "group", "group": "d:信息部"}, HTTP_HX_REQUEST="true")
    rows = rest.content.decode()
    assert (
        rows.count('data-testid="contact-row"') == 5 and "员工24" in rows and "员工00" not in rows
    )
    whole = client.get(url, {"group": "d:信息部"}).content.decode()  # no JavaScript
    assert whole.count('data-testid="contact-row"') == 26 and 'data-testid="show-all"' not in whole


def test_add_contact_mark_left_and_field_errors(make_account, rep_a: User, roles, client):
    account = make_account()
    client.force_login(rep_a)
    url = reverse("accounts:contact-add", args=[account.pk])
    missing = client.post(url, {"name": "赵磊"})
    assert (missing.status_code == 400 and "Give a mobile phone" in missing.content.decode()) or (
        "手机" in missing.content.decode()
    )
    bad = client.post(url, {"name": "赵磊", "mobile": "12"})
    assert bad.status_code == 400 and 'data-testid="add-contact"' in bad.content.decode()
    ok = client.post(
        url,
        {
            "name": "赵磊",
            "mobile": "13900139000",
            "department": "信息部",
            "roles": [roles["key_user"].pk],
        },
    )
    assert ok.status_code == 302
    contact = Contact.objects.get(account=account)
    assert contact.person.kind == CustomerKind.PERSON and contact.department == "信息部"
    client.post(reverse("accounts:contact-left", args=[account.pk, contact.pk]))
    contact.refresh_from_db()
    assert contact.left_on is not None
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'data-testid="left-contacts"' in html


def test_create_reuses_the_master_and_shows_field_errors(rep_a: User, unit_a, client):
    client.force_login(rep_a)
    url = reverse("accounts:create")
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {"uscc": "91310000X", "name": "坏公司", "business_unit": unit_a.pk, "status": "prospect"},
    )
    assert bad.status_code == 400 and "has-error" in bad.content.decode()
    assert not Account.objects.exists()
    uscc = make_uscc()
    known = crm_services.resolve_customer(
        identities=[IdentityInput("uscc", uscc)],
        attributes={"display_name": "老客户有限公司", "kind": "organization"},
        source="erp",
        business_unit=unit_a,
    ).customer
    ok = client.post(
        url,
        {
            "uscc": uscc,
            "name": "老客户有限公司",
            "business_unit": unit_a.pk,
            "status": "active",
            "industry": "F",
        },
    )
    account = Account.objects.get()
    assert ok["Location"] == reverse("accounts:detail", args=[account.pk])
    assert account.customer_id == known.pk and account.industry == "F"
    assert account.owner_id == rep_a.pk
    again = client.post(
        url,
        {"uscc": uscc, "name": "老客户", "business_unit": unit_a.pk, "status": "active"},
        follow=True,
    )
    assert (
        Account.objects.count() == 1 and "already had an account" in again.content.decode()
    ) or ("已有" in again.content.decode())


def test_edit_parent_owner_relation_forms(make_account, rep_a: User, manager_a: User, client):
    group = make_account("集团")
    account = make_account("子公司")
    client.force_login(rep_a)
    bad = client.post(
        reverse("accounts:edit", args=[account.pk]), {"status": "active", "website": "not a url"}
    )
    assert bad.status_code == 400 and "has-error" in bad.content.decode()
    ok = client.post(
        reverse("accounts:edit", args=[account.pk]), {"status": "dormant", "city": "苏州"}
    )
    assert ok.status_code == 302
    account.refresh_from_db()
    assert account.status == "dormant" and account.city == "苏州"
    client.post(reverse("accounts:set-parent", args=[account.pk]), {"parent": str(group.pk)})
    assert Account.objects.get(pk=account.pk).parent_id == group.pk
    cycle = client.post(
        reverse("accounts:set-parent", args=[group.pk]), {"parent": str(account.pk)}
    )
    assert cycle.status_code == 400 and Account.objects.get(pk=group.pk).parent_id is None
    uscc = group.customer.identities.get(type="uscc").value
    client.post(
        reverse("accounts:relation-add", args=[account.pk]), {"kind": "partner", "to_account": uscc}
    )
    assert account.relations_from.get().to_account_id == group.pk
    assert (
        client.post(
            reverse("accounts:assign-owner", args=[account.pk]), {"owner": rep_a.pk}
        ).status_code
        == 403
    )
    client.force_login(manager_a)
    client.post(reverse("accounts:assign-owner", args=[account.pk]), {"owner": manager_a.pk})
    assert Account.objects.get(pk=account.pk).owner_id == manager_a.pk


def test_blacklist_banner_on_the_page(make_account, rep_a: User, client):
    account = make_account()
    entry = crm_services.propose_blacklisting(
        customer=account.customer,
        user=UserFactory(is_superuser=True),
        reason="fraud",
        evidence="x",
    )
    crm_services.approve_blacklisting(entry=entry, user=UserFactory(is_superuser=True), comment="")
    client.force_login(rep_a)
    html = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'data-testid="blacklist-banner"' in html


def test_360_panel_links_to_the_account_page(make_account, rep_a: User, roles, client):
    account = make_account()
    contact = services.add_contact(account=account, identities=phone(9), name="周杰", user=rep_a)
    client.force_login(rep_a)
    page = reverse("accounts:detail", args=[account.pk])
    org = client.get(reverse("customer-detail", args=[account.customer_id])).content.decode()
    assert page in org
    person = client.get(reverse("customer-detail", args=[contact.person_id])).content.decode()
    assert page in person and 'data-testid="contact-at"' in person


def test_the_page_forms_are_fetched_when_opened(make_account, rep_a: User, roles, client):
    """The four forms in closed <details> (edit, parent, relation, add a contact) are not on
    the page: each <details> fetches its form when it opens (htmx), ``?form=`` opens it
    without JavaScript, and a refused form comes back open with its errors."""
    account = make_account()
    client.force_login(rep_a)
    url = reverse("accounts:detail", args=[account.pk])
    html = client.get(url).content.decode()
    for which in ("edit", "parent", "relation", "contact"):
        assert f'data-testid="{which}-form"' not in html
        assert f'hx-get="{url}?partial=form&amp;form={which}" hx-trigger="toggle once"' in html
        assert f'href="?form={which}"' in html  # without JavaScript
        fragment = client.get(url, {"partial": "form", "form": which}, HTTP_HX_REQUEST="true")
        assert fragment.status_code == 200
        body = fragment.content.decode()
        assert f'data-testid="{which}-form"' in body and "csrfmiddlewaretoken" in body
        assert "<html" not in body
        page = client.get(url, {"form": which}).content.decode()
        assert f'data-testid="{which}-form"' in page
    contact = client.get(url, {"partial": "form", "form": "contact"}, HTTP_HX_REQUEST="true")
    assert roles["purchaser"].name in contact.content.decode()
    assert client.get(url, {"form": "nothing"}).status_code == 404
    bad = client.post(reverse("accounts:contact-add", args=[account.pk]), {"name": "赵磊"})
    assert bad.status_code == 400
    assert 'data-testid="contact-form"' in bad.content.decode()
    assert 'data-testid="edit-form"' not in bad.content.decode()
