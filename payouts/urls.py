from django.urls import path

from payouts import earnings, views

app_name = "payouts"

urlpatterns = [
    path("payouts/", earnings.index, name="index"),
    path("payouts/earnings.csv", earnings.earnings_csv, name="earnings_csv"),
    path("payouts/spending/", earnings.spending, name="spending"),
    path("payouts/receipts/<int:pk>/", earnings.receipt, name="receipt"),
    path("payouts/other-countries/", earnings.other_countries, name="other_countries"),
    path("payouts/connect/", views.connect, name="connect"),
    path("payouts/onboarding/", views.onboarding, name="onboarding"),
    path("payouts/onboarding/return/", views.onboarding_return, name="onboarding_return"),
    path("payouts/dashboard/", views.dashboard, name="dashboard"),
    path("payouts/test-mode/onboarding/<str:account_id>/", views.simulated_onboarding, name="simulated_onboarding"),
    path("payouts/test-mode/dashboard/<str:account_id>/", views.simulated_dashboard, name="simulated_dashboard"),
]
