from django.urls import path

from messaging.api import views

urlpatterns = [
    path("messages", views.MessagesView.as_view(), name="api-messages"),
    path("messages/<str:message_id>", views.MessageDetailView.as_view(), name="api-message"),
    path("messages/<str:message_id>/reactions", views.ReactionsView.as_view(), name="api-message-reactions"),
    path(
        "messages/<str:message_id>/reactions/<str:emoji>",
        views.ReactionDetailView.as_view(),
        name="api-message-reaction",
    ),
    path("messages/<str:message_id>/reports", views.MessageReportsView.as_view(), name="api-message-reports"),
    path("users/<userref:user_id>/messages", views.UserMessagesView.as_view(), name="api-user-messages"),
    path(
        "users/<userref:user_id>/message-preferences", views.PreferencesView.as_view(), name="api-message-preferences"
    ),
    path("conversations", views.ConversationsView.as_view(), name="api-conversations"),
    path("conversations/unread", views.UnreadView.as_view(), name="api-conversations-unread"),
    path("conversations/<uuid:conversation_id>", views.ConversationDetailView.as_view(), name="api-conversation"),
    path("conversations/<uuid:conversation_id>/members", views.MembersView.as_view(), name="api-conversation-members"),
    path(
        "conversations/<uuid:conversation_id>/members/<userref:user_id>",
        views.MemberDetailView.as_view(),
        name="api-conversation-member",
    ),
    path("conversations/<uuid:conversation_id>/read", views.ReadView.as_view(), name="api-conversation-read"),
    path("conversations/<uuid:conversation_id>/accept", views.AcceptView.as_view(), name="api-conversation-accept"),
]
