from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from crm.api import customers, segments, transactions, views
from crm.registry import api_routes

router = SimpleRouter()
router.register("business-units", views.BusinessUnitViewSet, basename="business-unit")
router.register("jobs", views.JobViewSet, basename="job")
router.register("customers", customers.CustomerViewSet, basename="customer-api")
router.register("transactions", transactions.TransactionViewSet, basename="transaction-api")
router.register("segments", segments.SegmentViewSet, basename="segment-api")

schema_view = SpectacularAPIView.as_view()
schema_view.login_required = False  # type: ignore[attr-defined]

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("schema/", schema_view, name="schema"),
    path("", include(router.urls)),
    *api_routes(),
]
