"""The transaction import screens, mounted under ``/imports/``."""

from django.urls import path

from crm.web import imports, record_imports

urlpatterns = [
    path("transactions/", imports.transaction_import, name="transaction-import"),
    path(
        "transactions/map/<str:token>/",
        imports.transaction_import_map,
        name="transaction-import-map",
    ),
    path(
        "transactions/template.<str:fmt>",
        imports.transaction_import_template,
        name="transaction-import-template",
    ),
    path(
        "transactions/<uuid:pk>/result/",
        imports.transaction_import_result,
        name="transaction-import-result",
    ),
    path(
        "transactions/<uuid:pk>/import/",
        imports.transaction_import_confirm,
        name="transaction-import-confirm",
    ),
]

# Every record importer's job (accounts, contacts, …): its result section and "Import this
# file"; the upload and mapping screens are the apps' (crm.web.record_imports).
urlpatterns += [
    path(
        "records/<uuid:pk>/result/",
        record_imports.record_import_result,
        name="record-import-result",
    ),
    path(
        "records/<uuid:pk>/import/",
        record_imports.record_import_confirm,
        name="record-import-confirm",
    ),
]
