from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from cadcam import views

# Staff sign in through allauth, so the same rate limits and two-factor step apply.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "CadCam Masters staff"
admin.site.site_title = "CadCam Masters staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
