from django.urls import path

from marketplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("sell/", views.start_selling, name="start_selling"),
    path("u/<str:username>/", views.public_profile, name="public_profile"),
]
