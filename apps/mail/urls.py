from django.urls import path  # noqa: F401  (routes are added per views module below)

app_name = "mail"
urlpatterns: list = []  # type: ignore[type-arg]
