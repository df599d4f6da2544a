from rest_framework.routers import SimpleRouter

from accounts.api import opportunities, views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account-api")
router.register("contacts", views.ContactViewSet, basename="contact-api")
router.register("opportunities", opportunities.OpportunityViewSet, basename="opportunity-api")

urlpatterns = router.urls
