"""The coupon results rollup in the administration: when its figures are from, and a
rebuild from every coupon (a job with progress, campaigns/ROLLUP.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.models import CouponRollupState
from crm.admin.base import ReadOnlyAdmin

REBUILD_PERMISSION = "campaigns.rebuild_rollup"


@admin.register(CouponRollupState)
class CouponRollupStateAdmin(ReadOnlyAdmin):
    list_display = ["refreshed_at", "rebuilt_at", "months", "seconds"]
    change_list_template = "admin/campaigns/couponrollupstate/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        rebuild = path(
            "rebuild/",
            self.admin_site.admin_view(self.rebuild_view),
            name="campaigns_couponrollupstate_rebuild",
        )
        return [rebuild, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {"can_rebuild": request.user.has_perm(REBUILD_PERMISSION)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def rebuild_view(self, request: HttpRequest) -> HttpResponse:
        """Confirm, then start the rebuild job (and show its progress)."""
        if not (request.user.has_perm(REBUILD_PERMISSION) and request.user.has_perm("crm.add_job")):
            raise PermissionDenied
        if request.method == "POST":
            job = services.start_rollup_job(full=True, user=request.user)
            self.message_user(
                request,
                _("Rebuilding the coupon results rollup; the job shows its progress."),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("job-detail", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rebuild the coupon results rollup"),
            "state": CouponRollupState.objects.filter(pk=1).first(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/campaigns/couponrollupstate/rebuild.html", context)
