"""Reports through the API: report a post, a comment or an account; list your own reports."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from posts import moderation
from posts.models import Report
from socialsite.api.helpers import error_responses, valid_input
from socialsite.api.inputs import Input
from socialsite.api.pagination import CursorPagination
from socialsite.api.throttling import FixedWindowThrottle

# --- Throttle ------------------------------------------------------------------------------------


class ReportRateThrottle(FixedWindowThrottle):
    """New reports per signed-in user; THROTTLE_REPORT in settings, "20/h" by default."""

    scope = "report"
    THROTTLE_RATES = {"report": getattr(settings, "THROTTLE_REPORT", "20/h")}

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


# --- Serializers ---------------------------------------------------------------------------------


class ReportCreateInput(Input):
    target_type = serializers.ChoiceField(choices=moderation.TARGET_TYPES)
    target_id = serializers.CharField(max_length=100)
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(
        max_length=moderation.DETAILS_MAX_CHARS, required=False, allow_blank=True, default=""
    )


class ReportOutput(serializers.Serializer):
    id = serializers.CharField()
    target_type = serializers.ChoiceField(choices=moderation.TARGET_TYPES)
    target_id = serializers.CharField()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    status = serializers.ChoiceField(choices=Report.Status.choices)
    created_at = serializers.DateTimeField()


def report_body(report):
    return {
        "id": str(report.pk),
        "target_type": moderation.report_target_type(report),
        "target_id": str(moderation.report_target_id(report)),
        "reason": report.reason,
        "status": report.status,
        "created_at": report.created_at,
    }


# --- Views ---------------------------------------------------------------------------------------


class ReportsView(APIView):
    pagination_class = CursorPagination

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(ReportRateThrottle())
        return throttles

    @extend_schema(
        request=ReportCreateInput,
        responses={201: ReportOutput, 200: ReportOutput, **error_responses(400, 401, 404, 429)},
        tags=["reports"],
        description="Report a post, a comment or an account you can see, for the moderators. "
        "201 on a new report; 200 with the same report while your earlier one is still open.",
    )
    def post(self, request):
        data = valid_input(ReportCreateInput, request)
        report, created = moderation.report_create(reporter=request.user, **data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ReportOutput(report_body(report)).data, status=code)

    @extend_schema(
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
        responses={200: ReportOutput(many=True), **error_responses(401)},
        tags=["reports"],
        description="Your own reports, newest first, with their status.",
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(moderation.reports_queryset(reporter=request.user), request, view=self)
        return paginator.get_paginated_response(ReportOutput([report_body(r) for r in page], many=True).data)
