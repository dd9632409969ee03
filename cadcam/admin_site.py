"""The staff admin's site: open to staff whose rights are usable in this session
(cadcam.staff.acting_as_staff: with ADMIN_REQUIRES_MFA, only after the second factor). The
step-up middleware sends such staff to their authenticator app first; this is the check the
admin itself makes on every page, whatever address the request came in under."""

from django.contrib import admin

from cadcam.staff import acting_as_staff


class StaffAdminSite(admin.AdminSite):
    site_header = "CadCam Masters staff"
    site_title = "CadCam Masters staff"

    def has_permission(self, request):
        return request.user.is_active and acting_as_staff(request.user)
