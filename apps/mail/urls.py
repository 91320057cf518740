from django.urls import path

from apps.mail.views import mailbox, reading

app_name = "mail"
urlpatterns = [
    path("", mailbox.mailbox_home, name="home"),
    path("all/", mailbox.unified_view, name="unified"),
    path("all/m/<int:message_id>/", mailbox.unified_view, name="unified_message"),
    path("f/<int:folder_id>/", mailbox.folder_view, name="folder"),
    path("f/<int:folder_id>/m/<int:message_id>/", mailbox.folder_view, name="folder_message"),
    path("preferences/", mailbox.preferences_update, name="preferences"),
    path("search/", mailbox.search_view, name="search"),
    path("search/m/<int:message_id>/", mailbox.search_view, name="search_message"),
    path("m/<int:message_id>/", reading.message_open, name="message"),
    path("m/<int:message_id>/pane", reading.message_pane, name="message_pane"),
    path("m/<int:message_id>/frame", reading.message_frame, name="message_frame"),
    path("m/<int:message_id>/source", reading.message_source, name="message_source"),
    path("m/<int:message_id>/trust-sender", reading.trust_sender, name="trust_sender"),
    path("m/<int:message_id>/cid", reading.message_cid, name="message_cid"),
    path("m/<int:message_id>/part/<str:part_id>/", reading.message_part, name="message_part"),
    path("m/<int:message_id>/part/<str:part_id>/message", reading.attached_message, name="attached_message"),
    path("m/<int:message_id>/part/<str:part_id>/frame", reading.attached_message_frame, name="attached_message_frame"),
    path("remote/<str:token>", reading.remote_image, name="remote_image"),
]

# Mail accounts (apps/mail/views/accounts.py).
from apps.mail.views import accounts  # noqa: E402

urlpatterns += [
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/add/", accounts.account_add, name="account_add"),
    path("accounts/<int:account_id>/", accounts.account_edit, name="account_edit"),
    path("accounts/<int:account_id>/test/", accounts.account_test, name="account_test"),
    path("accounts/<int:account_id>/delete/", accounts.account_delete, name="account_delete"),
]
