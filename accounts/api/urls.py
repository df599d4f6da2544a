from rest_framework.routers import SimpleRouter

from accounts.api import credit, opportunities, views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account-api")
router.register("contacts", views.ContactViewSet, basename="contact-api")
router.register("credit", credit.CreditViewSet, basename="credit-api")
router.register("opportunities", opportunities.OpportunityViewSet, basename="opportunity-api")

urlpatterns = router.urls
