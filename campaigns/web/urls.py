from django.urls import path

from campaigns.web import desk

app_name = "campaigns"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("desk/redeem/", desk.redeem, name="redeem"),
]
