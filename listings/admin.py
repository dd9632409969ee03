from django.contrib import admin

from listings.models import CadSoftware, Category


class ReferenceDataAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


admin.site.register(Category, ReferenceDataAdmin)
admin.site.register(CadSoftware, ReferenceDataAdmin)
