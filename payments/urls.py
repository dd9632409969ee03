from django.urls import path

from payments import views

urlpatterns = [
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("webhooks/stripe/connect/", views.stripe_connect_webhook, name="stripe_connect_webhook"),
]
