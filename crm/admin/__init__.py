"""The admin site: the platform's configuration (``platform``) and the customer master
(``customers``), built from the shared pieces in ``base``. The submodules import ``base`` only,
never this package or each other, so that no import cycle runs through the admin."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin import (  # noqa: F401  (register the model admins)
    blacklist,
    customers,
    imports,
    metrics,
    platform,
    settlement,
    sources,
)

admin.site.site_header = _("Group CRM administration")
admin.site.site_title = _("Group CRM")
admin.site.index_title = _("Configuration")
admin.site.site_url = "/"
