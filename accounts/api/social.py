"""Mobile social sign-in: the app posts the provider's token and gets our JWT pair back."""

from rest_framework import permissions
from rest_framework.views import APIView


class SocialLoginView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
