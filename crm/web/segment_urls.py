"""Segments' screens, under ``/segments/``."""

from django.urls import path

from crm.web import segments

urlpatterns = [
    path("", segments.segment_list, name="segment-list"),
    path("new/", segments.segment_create, name="segment-create"),
    path("count/", segments.segment_count, name="segment-count"),
    path("<int:pk>/", segments.segment_detail, name="segment-detail"),
    path("<int:pk>/as-of/", segments.segment_as_of, name="segment-as-of"),
    path("<int:pk>/edit/", segments.segment_edit, name="segment-edit"),
    path("<int:pk>/delete/", segments.segment_delete, name="segment-delete"),
    path("<int:pk>/freeze/", segments.segment_freeze, name="segment-freeze"),
    path("<int:pk>/live/", segments.segment_make_live, name="segment-live"),
]
