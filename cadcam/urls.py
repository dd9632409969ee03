from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from cadcam import views

# Staff sign in through allauth, so the same rate limits and two-factor step apply.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("staff/two-factor/", views.staff_enrol, name="staff_enrol"),
    path("staff/two-factor/<str:token>/", views.staff_enrol_confirm, name="staff_enrol_confirm"),
    path("favicon.ico", views.favicon),
    path("uploads/", views.direct_upload_start, name="direct_upload_start"),
    path("uploads/<uuid:token>/complete/", views.direct_upload_complete, name="direct_upload_complete"),
    path("", include("cadcam.pages")),
    path("", include("accounts.urls")),
    path("listings/", include("listings.urls")),
    path("", include("orders.urls")),
    path("", include("disputes.urls")),
    path("", include("reviews.urls")),
    path("", include("messaging.urls")),
    path("", include("payouts.urls")),
    path("", include("payments.urls")),
    path("", include("marketplace.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

if settings.SERVE_MEDIA:
    # Public uploads only (photos); private files are never under MEDIA_ROOT.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
