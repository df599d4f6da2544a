from django.urls import include, path
from rest_framework.routers import SimpleRouter

from campaigns.api import views

router = SimpleRouter()
router.register("coupons", views.CouponViewSet, basename="coupons-api")

urlpatterns = [path("", include(router.urls))]
