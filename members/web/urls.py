from django.urls import path

from members.web import adjustments, dashboards, desk, imports, statements

app_name = "members"

urlpatterns = [
    path("", desk.desk, name="desk"),
    path("enrol/", desk.enrol, name="enrol"),
    path("import/", imports.member_import, name="import"),
    path("import/map/<str:token>/", imports.member_import_map, name="import-map"),
    path(
        "import/template/<slug:kind>.<str:fmt>",
        imports.member_import_template,
        name="import-template",
    ),
    path("<int:pk>/", desk.member_detail, name="member"),
    path("<int:pk>/adjust/", desk.member_adjust, name="adjust"),
    path("<int:pk>/status/", desk.member_status, name="status"),
    path("adjustments/", adjustments.adjustment_queue, name="adjustments"),
    path("adjustments/<int:pk>/decide/", adjustments.adjustment_decide, name="adjustment-decide"),
    path("dashboards/", dashboards.dashboard, name="dashboards"),
    path("statements/", statements.statement_index, name="statements"),
    path("statements/<int:pk>/", statements.statement_detail, name="statement"),
    path("statements/<int:pk>/decide/", statements.statement_decide, name="statement-decide"),
]
