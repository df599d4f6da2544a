"""The accounts app's web routes, mounted at /accounts/ (names: ``accounts:<name>``)."""

from django.urls import path

from accounts.web import credit

app_name = "accounts"

urlpatterns = [
    # --- Credit (accounts/web/credit.py) ---
    path("<int:pk>/credit/", credit.credit_page, name="credit"),
    path("<int:pk>/credit/evidence/", credit.evidence_add, name="credit-evidence-add"),
    path("<int:pk>/credit/review/", credit.review, name="credit-review"),
    # --- end of credit ---
]
