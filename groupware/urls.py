from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("chat/", include("apps.chat.urls")),
    path("mail/", include("apps.mail.urls")),
    path("contacts/", include("apps.contacts.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("apps.dav.urls")),
]
