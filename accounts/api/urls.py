from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("accounts", views.AccountViewSet, basename="account-api")
router.register("contacts", views.ContactViewSet, basename="contact-api")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity-api")

urlpatterns = router.urls
