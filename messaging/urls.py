from django.urls import path

from messaging import support_views, views

app_name = "messaging"

urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/preferences/", views.preferences, name="preferences"),
    path("messages/contact/<int:pk>/", views.contact, name="contact"),
    path("messages/to/<str:username>/", views.write_to, name="write_to"),
    path("messages/<int:pk>/", views.conversation, name="conversation"),
    path("messages/<int:pk>/send/", views.send, name="send"),
    path("messages/<int:pk>/poll/", views.poll, name="poll"),
    path("messages/order/<int:order_pk>/send/", views.order_send, name="order_send"),
    path("messages/<int:pk>/files/<int:file_id>/", views.download, name="download"),
    path("messages/<int:pk>/files/<int:file_id>/summary/", views.attachment_summary, name="attachment_summary"),
    path("messages/<int:pk>/block/", views.block, name="block"),
    path("messages/<int:pk>/unblock/", views.unblock, name="unblock"),
    path("support/", support_views.support_home, name="support"),
    path("support/staff/", support_views.staff_inbox, name="staff_inbox"),
    path("support/<int:pk>/", support_views.support_detail, name="support_detail"),
    path("support/<int:pk>/<slug:action>/", support_views.staff_act, name="staff_act"),
]
