from django.conf import settings
from rest_framework import pagination

from socialsite import params


class CursorPagination(pagination.CursorPagination):
    """Opaque-cursor pages: {"results", "next", "previous"}; ?limit= up to API_PAGE_SIZE_MAX."""

    page_size_query_param = "limit"
    max_page_size = settings.API_PAGE_SIZE_MAX
    ordering = "-created_at"

    def get_page_size(self, request):
        return params.limit(request.query_params, self.page_size, self.max_page_size)

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["required"] = ["results", "next", "previous"]
        return schema
