from django.urls import path

from listings import views

app_name = "listings"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("new/", views.create, name="new"),
    path("new/recipients/", views.recipient_search, name="recipient_search"),
    path("<int:pk>-<slug:slug>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/recipients/", views.recipient_search, name="recipient_search_for"),
    path("<int:pk>/archive/", views.archive, name="archive"),
    path("<int:pk>/favorite/", views.favorite, name="favorite"),
]
