from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    path("orders/<int:pk>/dispute/", views.open_dispute, name="open"),
]
