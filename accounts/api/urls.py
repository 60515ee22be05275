from django.urls import path

from accounts.api import social, views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="api-register"),
    path("auth/jwt/login", views.LoginView.as_view(), name="api-jwt-login"),
    path("auth/jwt/mfa", views.MFAView.as_view(), name="api-jwt-mfa"),
    path("auth/login-code", views.LoginCodeRequestView.as_view(), name="api-login-code-request"),
    path("auth/jwt/login-code", views.LoginCodeView.as_view(), name="api-jwt-login-code"),
    path("auth/jwt/refresh", views.RefreshView.as_view(), name="api-jwt-refresh"),
    path("auth/jwt/logout", views.LogoutView.as_view(), name="api-jwt-logout"),
    path("auth/logout-everywhere", views.LogoutEverywhereView.as_view(), name="api-logout-everywhere"),
    path("auth/social/<slug:provider>", social.SocialLoginView.as_view(), name="api-social-login"),
    path("users/<userref:user_id>", views.UserDetailView.as_view(), name="api-user"),
    path("users/<userref:user_id>/avatar", views.AvatarView.as_view(), name="api-user-avatar"),
    path("users/<userref:user_id>/interests", views.InterestsView.as_view(), name="api-user-interests"),
    path("users/<userref:user_id>/onboarding", views.OnboardingView.as_view(), name="api-user-onboarding"),
    path("users/<userref:user_id>/follows", views.FollowsView.as_view(), name="api-user-follows"),
    path(
        "users/<userref:user_id>/follows/<uuid:followed_user_id>",
        views.FollowDetailView.as_view(),
        name="api-user-follow",
    ),
    path("users/<userref:user_id>/following", views.FollowsView.as_view(), name="api-user-following"),
    path("users/<userref:user_id>/followers", views.FollowersView.as_view(), name="api-user-followers"),
    path(
        "users/<userref:user_id>/followers/<uuid:follower_user_id>",
        views.FollowerDetailView.as_view(),
        name="api-user-follower",
    ),
    path(
        "users/<userref:user_id>/follow-requests", views.FollowRequestsView.as_view(), name="api-user-follow-requests"
    ),
    path(
        "users/<userref:user_id>/follow-requests/<int:request_id>/approve",
        views.FollowRequestDecisionView.as_view(decision="approve"),
        name="api-user-follow-request-approve",
    ),
    path(
        "users/<userref:user_id>/follow-requests/<int:request_id>/reject",
        views.FollowRequestDecisionView.as_view(decision="reject"),
        name="api-user-follow-request-reject",
    ),
    path("users/<userref:user_id>/blocks", views.BlocksView.as_view(), name="api-user-blocks"),
    path(
        "users/<userref:user_id>/blocks/<uuid:blocked_user_id>", views.BlockDetailView.as_view(), name="api-user-block"
    ),
    path("users/<userref:user_id>/mutes", views.MutesView.as_view(), name="api-user-mutes"),
    path("users/<userref:user_id>/mutes/<uuid:muted_user_id>", views.MuteDetailView.as_view(), name="api-user-mute"),
]
