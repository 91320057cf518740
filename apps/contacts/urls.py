from django.urls import path

from apps.contacts.views import contacts as views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_new, name="new"),
    path("<int:contact_id>/", views.contact_detail, name="detail"),
    path("<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("<int:contact_id>/delete/", views.contact_delete, name="delete"),
    path("books/<int:book_id>/import/", views.book_import, name="import"),
    path("books/<int:book_id>/export.vcf", views.book_export, name="export"),
]
