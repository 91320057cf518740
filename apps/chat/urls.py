from django.urls import path

from apps.chat import views

app_name = "chat"
urlpatterns = [
    path("presence/status/", views.presence_status, name="presence_status"),
]
