from django.urls import path

from accounts.web import opportunities, pipeline

app_name = "accounts"

# The pipeline board, the forecast and the opportunity pages.
urlpatterns = [
    path("pipeline/", pipeline.board, name="pipeline"),
    path("pipeline/stages/<int:stage>/", pipeline.stage_more, name="pipeline-stage"),
    path("forecast/", pipeline.forecast, name="forecast"),
    path("opportunities/new/", opportunities.create, name="opportunity-create"),
    path("opportunities/<int:pk>/", opportunities.detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/move/", pipeline.move, name="opportunity-move"),
]
