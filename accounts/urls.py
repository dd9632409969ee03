from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/profile/", views.profile_edit, name="profile"),
    path("account/verification/", views.verification, name="verification"),
    path("account/verification/<int:pk>/document/", views.verification_document, name="verification_document"),
    path("account/delete/", views.account_delete, name="delete"),
    path("account/export/", views.data_export, name="export"),
]
