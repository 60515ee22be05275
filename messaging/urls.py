from django.urls import path

from messaging import views

urlpatterns = [
    path("messages/", views.inbox, name="messages_inbox"),
    path("messages/requests/", views.requests_folder, name="messages_requests"),
    path("messages/new/", views.new_message, name="message_new"),
    path("messages/new-group/", views.new_group, name="message_new_group"),
    path("messages/settings/", views.message_settings, name="message_settings"),
    path("messages/m/<uuid:message_id>/edit/", views.message_edit, name="message_edit"),
    path("messages/m/<uuid:message_id>/delete/", views.message_delete, name="message_delete"),
    path("messages/m/<uuid:message_id>/react/", views.message_react, name="message_react"),
    path("messages/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("messages/<uuid:conversation_id>/send/", views.send, name="conversation_send"),
    path("messages/<uuid:conversation_id>/accept/", views.accept, name="conversation_accept"),
    path("messages/<uuid:conversation_id>/rename/", views.rename, name="conversation_rename"),
    path("messages/<uuid:conversation_id>/members/", views.members_add, name="conversation_members_add"),
    path(
        "messages/<uuid:conversation_id>/members/<uuid:user_id>/remove/",
        views.member_remove,
        name="conversation_member_remove",
    ),
    path("messages/<uuid:conversation_id>/leave/", views.leave, name="conversation_leave"),
]
