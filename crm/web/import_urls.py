"""The transaction import's screens and every import job's result, under ``/imports/``."""

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
    # an import job's result section and "Import this file": the same views for every
    # importer (crm.web.record_imports), under the transaction import's URLs and the records'
    path(
        "transactions/<uuid:pk>/result/",
        record_imports.import_result,
        name="transaction-import-result",
    ),
    path(
        "transactions/<uuid:pk>/import/",
        record_imports.import_confirm,
        name="transaction-import-confirm",
    ),
    path("records/<uuid:pk>/result/", record_imports.import_result, name="record-import-result"),
    path("records/<uuid:pk>/import/", record_imports.import_confirm, name="record-import-confirm"),
]
