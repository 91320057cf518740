from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("avatar/<int:user_id>/", views.avatar, name="avatar"),
    path("app-passwords/", views.app_password_add, name="app_password_add"),
    path("app-passwords/<int:app_password_id>/revoke/", views.app_password_delete, name="app_password_revoke"),
]
