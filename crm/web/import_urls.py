"""The transaction import screen, mounted under ``/imports/``."""

from django.urls import path

from crm.web import imports

urlpatterns = [
    path("transactions/", imports.transaction_import, name="transaction-import"),
    path(
        "transactions/<uuid:pk>/result/",
        imports.transaction_import_result,
        name="transaction-import-result",
    ),
]
