from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    # Not under orders/<pk>/: the orders app routes orders/<pk>/<action>/ to its own actions.
    path("reviews/orders/<int:pk>/", views.create, name="create"),
    path("reviews/<int:pk>/reply/", views.reply, name="reply"),
]
