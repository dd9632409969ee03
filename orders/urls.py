from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("listings/<int:pk>/send-case/", views.send_case, name="send_case"),
    path("orders/<int:pk>/", views.detail, name="detail"),
    path("orders/<int:pk>/pay/", views.pay, name="pay"),
    path("orders/<int:pk>/pay/return/", views.pay_return, name="pay_return"),
    path("orders/<int:pk>/pay/check/", views.pay_check, name="pay_check"),
    path("orders/<int:pk>/files/<int:file_id>/", views.download, name="download"),
    path("orders/<int:pk>/files/<int:file_id>/summary/", views.file_summary, name="file_summary"),
    path("orders/<int:pk>/<slug:action>/", views.act, name="act"),
]
