from django.urls import path

from campaigns.web import campaigns, desk, overview, rules

app_name = "campaigns"

urlpatterns = [
    path("desk/", desk.desk, name="desk"),
    path("desk/redeem/", desk.redeem, name="redeem"),
    path("", campaigns.campaign_list, name="campaign-list"),
    path("new/", campaigns.campaign_create, name="campaign-create"),
    path("overview/", overview.overview, name="overview"),
    path("rules/", rules.rule_list, name="rule-list"),
    path("rules/new/", rules.rule_create, name="rule-create"),
    path("rules/<int:pk>/edit/", rules.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/active/", rules.rule_toggle, name="rule-toggle"),
    path("<int:pk>/", campaigns.campaign_detail, name="campaign-detail"),
    path("<int:pk>/edit/", campaigns.campaign_edit, name="campaign-edit"),
    path("<int:pk>/status/", campaigns.campaign_move, name="campaign-move"),
    path("<int:pk>/results/", campaigns.campaign_results, name="campaign-results"),
    path("<int:pk>/issue/", campaigns.campaign_issue, name="campaign-issue"),
]
