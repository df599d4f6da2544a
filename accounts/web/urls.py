from django.urls import path

from accounts.web import account_page, accounts_list, contacts, opportunities, pipeline

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
]
