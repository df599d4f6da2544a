from django.urls import include, path
from rest_framework.routers import SimpleRouter

from members.api import views

router = SimpleRouter()
router.register("", views.MemberViewSet, basename="members-api")

urlpatterns = [path("", include(router.urls))]
