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

# Organising: actions, snooze, folders (apps/mail/views/organise.py).
from apps.mail.views import organise  # noqa: E402

urlpatterns += [
    path("actions/", organise.messages_action, name="messages_action"),
    path("f/<int:folder_id>/empty/", organise.folder_empty, name="folder_empty"),
    path("f/<int:folder_id>/rename/", organise.folder_rename, name="folder_rename"),
    path("f/<int:folder_id>/delete/", organise.folder_delete, name="folder_delete"),
    path("f/<int:folder_id>/subscribe/", organise.folder_subscribe, name="folder_subscribe"),
    path("folders/rail/", organise.folders_rail, name="folders_rail"),
    path("accounts/<int:account_id>/folders/", organise.folders_manage, name="folders_manage"),
    path("accounts/<int:account_id>/folders/create/", organise.folder_create, name="folder_create"),
    path("accounts/<int:account_id>/folders/settings/", organise.organise_settings, name="organise_settings"),
    path("snoozed/", organise.snoozed_list, name="snoozed"),
    path("snoozed/<int:snooze_id>/wake/", organise.snooze_wake_now, name="snooze_wake"),
]

# Composing and sending (apps/mail/views/compose.py).
from apps.mail.views import compose  # noqa: E402

urlpatterns += [
    path("compose/", compose.compose_new, name="compose"),
    path("compose/save/", compose.compose_save, name="compose_save"),
    path("compose/send/", compose.compose_send, name="compose_send"),
    path("compose/d/<int:draft_id>/", compose.compose_draft, name="compose_draft"),
    path("compose/d/<int:draft_id>/attach/", compose.compose_attach, name="compose_attach"),
    path("compose/d/<int:draft_id>/discard/", compose.compose_discard, name="compose_discard"),
    path(
        "compose/attachments/<int:attachment_id>/delete/",
        compose.compose_attachment_delete,
        name="compose_attachment_delete",
    ),
    path("compose/preferences/", compose.compose_preferences, name="compose_preferences"),
    path("m/<int:message_id>/edit-draft/", compose.draft_open, name="draft_open"),
    path("outbox/<int:outbox_id>/", compose.outbox_status, name="outbox_status"),
    path("outbox/<int:outbox_id>/undo/", compose.outbox_undo, name="outbox_undo"),
    path("scheduled-send/", compose.scheduled_send, name="scheduled_send"),
    path("recipients/", compose.recipients_suggest, name="recipients_suggest"),
    path("accounts/<int:account_id>/identities/", compose.identities_manage, name="identities"),
]

# Filters and out-of-office reply (ManageSieve), one-click unsubscribe, read receipts
# (apps/mail/views/filters.py, apps/mail/views/notices.py).
from apps.mail.views import filters as filter_views  # noqa: E402
from apps.mail.views import notices  # noqa: E402

urlpatterns += [
    path("accounts/<int:account_id>/filters/", filter_views.filters_page, name="filters"),
    path("accounts/<int:account_id>/filters/rule/", filter_views.filter_rule_edit, name="filter_rule"),
    path(
        "accounts/<int:account_id>/filters/rule/<int:index>/delete/",
        filter_views.filter_rule_delete,
        name="filter_rule_delete",
    ),
    path(
        "accounts/<int:account_id>/filters/rule/<int:index>/move/",
        filter_views.filter_rule_move,
        name="filter_rule_move",
    ),
    path("accounts/<int:account_id>/filters/vacation/", filter_views.filters_vacation, name="filters_vacation"),
    path("accounts/<int:account_id>/filters/script/", filter_views.filters_script, name="filters_script"),
    path("accounts/<int:account_id>/filters/replace/", filter_views.filters_replace, name="filters_replace"),
    path("m/<int:message_id>/filter/", filter_views.message_filter_create, name="message_filter"),
    path("m/<int:message_id>/unsubscribe/", notices.message_unsubscribe, name="message_unsubscribe"),
    path("m/<int:message_id>/receipt/", notices.message_receipt, name="message_receipt"),
    path("m/<int:message_id>/acknowledge/", notices.message_acknowledge, name="message_acknowledge"),
]
