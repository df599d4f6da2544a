from rest_framework.routers import SimpleRouter

from leads.api import views

router = SimpleRouter()
router.register("", views.LeadViewSet, basename="leads-api")

urlpatterns = router.urls
