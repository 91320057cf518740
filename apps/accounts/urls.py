from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("avatar/<int:user_id>/", views.avatar, name="avatar"),
]
