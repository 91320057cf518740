from django.urls import path

from apps.contacts.views import books as book_views
from apps.contacts.views import contacts as views
from apps.contacts.views import directory as directory_views
from apps.contacts.views import tools as tool_views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_new, name="new"),
    path("<int:contact_id>/", views.contact_detail, name="detail"),
    path("<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("<int:contact_id>/delete/", views.contact_delete, name="delete"),
    path("<int:contact_id>/photo.jpg", views.contact_photo, name="photo"),
    path("<int:contact_id>/photo/", views.contact_photo_set, name="photo_set"),
    path("books/<int:book_id>/import/", views.book_import, name="import"),
    path("books/<int:book_id>/export.vcf", views.book_export, name="export"),
    # address books and sharing (books work)
    path("books/new/", book_views.book_new, name="book_new"),
    path("books/<int:book_id>/edit/", book_views.book_edit, name="book_edit"),
    path("books/<int:book_id>/delete/", book_views.book_delete, name="book_delete"),
    path("books/<int:book_id>/share/", book_views.book_share, name="book_share"),
    path("books/<int:book_id>/leave/", book_views.book_leave, name="book_leave"),
    # groups, duplicates and merge, background import (groups work)
    path("books/<int:book_id>/groups/", tool_views.group_list, name="groups"),
    path("books/<int:book_id>/groups/show/", tool_views.group_detail, name="group"),
    path("books/<int:book_id>/groups/rename/", tool_views.group_rename, name="group_rename"),
    path("books/<int:book_id>/groups/delete/", tool_views.group_delete, name="group_delete"),
    path("books/<int:book_id>/groups/remove/", tool_views.group_members_remove, name="group_remove"),
    path("books/<int:book_id>/duplicates/", tool_views.duplicates, name="duplicates"),
    path("books/<int:book_id>/import/background/", tool_views.import_start, name="import_background"),
    path("imports/<str:job_id>/", tool_views.import_job, name="import_job"),
    path("imports/<str:job_id>/status.json", tool_views.import_job_status, name="import_job_status"),
    path("<int:contact_id>/groups/", tool_views.contact_group_change, name="contact_groups"),
    path("<int:contact_id>/merge/", tool_views.contact_merge, name="merge"),
    # the directory of colleagues (directory work)
    path("directory/", directory_views.directory_list, name="directory"),
    path("directory/export.vcf", directory_views.directory_export, name="directory_export"),
    path("directory/<int:user_id>/", directory_views.directory_detail, name="directory_person"),
]
