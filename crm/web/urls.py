from django.urls import path

from crm.web import (
    blacklist,
    customer_actions,
    customer_notes,
    customers,
    exports,
    metrics,
    notifications,
    views,
    workspace,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("business-units/", views.business_unit_list, name="business-unit-list"),
    path("business-units/<int:pk>/", views.business_unit_detail, name="business-unit-detail"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/housekeeping/", views.job_start_housekeeping, name="job-start-housekeeping"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:pk>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel, name="job-cancel"),
    path("i18n/switch/", views.switch_language, name="switch-language"),
]

urlpatterns += [
    path("customers/", customers.customer_list, name="customer-list"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/reveal/", customers.customer_reveal, name="customer-reveal"),
    path("customers/<int:pk>/tags/", customers.customer_tag, name="customer-tag"),
    path("customers/<int:pk>/consents/", customers.customer_consent, name="customer-consent"),
    path("customers/<int:pk>/notes/", customer_notes.note_add, name="customer-note-add"),
    path(
        "customers/<int:pk>/notes/<int:note_id>/pin/",
        customer_notes.note_pin,
        name="customer-note-pin",
    ),
    path("duplicates/", customers.duplicate_list, name="duplicate-list"),
    path("duplicates/scan/", customers.duplicate_scan, name="duplicate-scan"),
    path("duplicates/<int:pk>/", customers.duplicate_review, name="duplicate-review"),
    path("merges/<int:pk>/", customers.merge_detail, name="merge-detail"),
]

urlpatterns += [
    path("customers/new/", customer_actions.customer_create, name="customer-create"),
    path(
        "customers/new/check/",
        customer_actions.customer_create_check,
        name="customer-create-check",
    ),
    path("customers/bulk-tags/", customer_actions.customer_bulk_tag, name="customer-bulk-tag"),
    path(
        "customers/bulk-tags/all/",
        customer_actions.customer_bulk_tag_all,
        name="customer-bulk-tag-all",
    ),
    path("views/", workspace.saved_view_list, name="saved-view-list"),
    path("views/save/", workspace.saved_view_save, name="saved-view-save"),
    path("views/<int:pk>/rename/", workspace.saved_view_rename, name="saved-view-rename"),
    path("views/<int:pk>/delete/", workspace.saved_view_delete, name="saved-view-delete"),
    path("exports/start/", exports.export_start, name="export-start"),
    path("exports/<uuid:pk>/", exports.export_section, name="export-section"),
    path("exports/<uuid:pk>/download/", exports.export_download, name="export-download"),
]

urlpatterns += [
    path("blacklist/", blacklist.blacklist_queue, name="blacklist-queue"),
    path("blacklist/<int:pk>/decide/", blacklist.blacklist_decide, name="blacklist-decide"),
    path("blacklist/<int:pk>/lift/", blacklist.blacklist_lift, name="blacklist-lift"),
    path("customers/<int:pk>/blacklist/", blacklist.blacklist_propose, name="blacklist-propose"),
]

urlpatterns += [
    path("notifications/", notifications.notification_list_view, name="notification-list"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification-read-all",
    ),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification-read"),
    path("notifications/<int:pk>/open/", notifications.notification_open, name="notification-open"),
    path("metrics/", metrics.dashboard, name="metrics-dashboard"),
    path("metrics/churn/", metrics.churn_list, name="metrics-churn"),
]
