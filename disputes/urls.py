from django.urls import path

from disputes import views

app_name = "disputes"

urlpatterns = [
    # Two segments: orders/<pk>/<action>/ belongs to the order actions.
    path("orders/<int:pk>/dispute/new/", views.open_dispute, name="open"),
]
