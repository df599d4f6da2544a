"""The transaction import screens, mounted under ``/imports/``."""

from django.urls import path

from crm.web import imports

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
