from django.urls import path

from accounts.web import (
    account_page,
    accounts_list,
    contacts,
    credit,
    imports,
    opportunities,
    pipeline,
)

app_name = "accounts"

# The account list and the account page (and their forms).
urlpatterns = [
    path("", accounts_list.account_list, name="list"),
    path("bulk/", accounts_list.account_bulk, name="bulk"),
    path("new/", contacts.account_create, name="create"),
    path("<int:pk>/", account_page.account_detail, name="detail"),
    path("<int:pk>/edit/", account_page.account_edit, name="edit"),
    path("<int:pk>/parent/", account_page.account_set_parent, name="set-parent"),
    path("<int:pk>/owner/", account_page.account_assign_owner, name="assign-owner"),
    path("<int:pk>/relations/", account_page.relation_add, name="relation-add"),
    path("<int:pk>/contacts/", contacts.contact_add, name="contact-add"),
    path(
        "<int:pk>/contacts/<int:contact_id>/edit/", contacts.contact_editor, name="contact-editor"
    ),
    path("<int:pk>/contacts/<int:contact_id>/roles/", contacts.contact_roles, name="contact-roles"),
    path(
        "<int:pk>/contacts/<int:contact_id>/left/", contacts.contact_mark_left, name="contact-left"
    ),
    # The pipeline board, the forecast and the opportunity pages.
    path("pipeline/", pipeline.board, name="pipeline"),
    path("pipeline/stages/<int:stage>/", pipeline.stage_more, name="pipeline-stage"),
    path("forecast/", pipeline.forecast, name="forecast"),
    path("opportunities/new/", opportunities.create, name="opportunity-create"),
    path("opportunities/<int:pk>/", opportunities.detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/move/", pipeline.move, name="opportunity-move"),
    # --- Credit (accounts/web/credit.py) ---
    path("<int:pk>/credit/", credit.credit_page, name="credit"),
    path("<int:pk>/credit/evidence/", credit.evidence_add, name="credit-evidence-add"),
    path("<int:pk>/credit/review/", credit.review, name="credit-review"),
    # --- end of credit ---
    # --- Import (accounts and contacts from a file) ---
    path("import/", imports.account_import, name="import"),
    path("import/map/<str:token>/", imports.account_import_map, name="import-map"),
    path(
        "import/template/<slug:kind>.<str:fmt>",
        imports.account_import_template,
        name="import-template",
    ),
    # --- end import ---
]
