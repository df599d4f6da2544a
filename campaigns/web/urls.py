from django.urls import path

from campaigns.web import campaigns, desk

app_name = "campaigns"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("desk/redeem/", desk.redeem, name="redeem"),
    path("", campaigns.campaign_list, name="campaign-list"),
    path("new/", campaigns.campaign_create, name="campaign-create"),
    path("<int:pk>/", campaigns.campaign_detail, name="campaign-detail"),
    path("<int:pk>/edit/", campaigns.campaign_edit, name="campaign-edit"),
    path("<int:pk>/status/", campaigns.campaign_move, name="campaign-move"),
    path("<int:pk>/results/", campaigns.campaign_results, name="campaign-results"),
    path("<int:pk>/issue/", campaigns.campaign_issue, name="campaign-issue"),
]
