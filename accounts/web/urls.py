"""The accounts area's screens, mounted under ``/accounts/``."""

from django.urls import path

from accounts.web import imports

app_name = "accounts"

urlpatterns = [
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
