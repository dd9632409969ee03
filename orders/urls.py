from django.urls import path

from orders import pin_views, views

app_name = "orders"

urlpatterns = [
    path("listings/<int:pk>/send-case/", views.send_case, name="send_case"),
    path("orders/<int:pk>/", views.detail, name="detail"),
    path("orders/<int:pk>/pay/", views.pay, name="pay"),
    path("orders/<int:pk>/pay/return/", views.pay_return, name="pay_return"),
    path("orders/<int:pk>/pay/check/", views.pay_check, name="pay_check"),
    path("orders/<int:pk>/files/<int:file_id>/", views.download, name="download"),
    path("orders/<int:pk>/files/<int:file_id>/summary/", views.file_summary, name="file_summary"),
    path("orders/<int:pk>/files/<int:file_id>/review/", pin_views.review, name="review"),
    path("orders/<int:pk>/files/<int:file_id>/pins/", pin_views.pin_add, name="pin_add"),
    path("orders/<int:pk>/files/<int:file_id>/pins/<int:number>/resolve/", pin_views.pin_resolve_view,
         name="pin_resolve"),
    path("orders/<int:pk>/files/<int:file_id>/pins/<int:number>/delete/", pin_views.pin_delete_view,
         name="pin_delete"),
    path("orders/<int:pk>/compare/", pin_views.compare, name="compare"),
    path("orders/<int:pk>/<slug:action>/", views.act, name="act"),
]
