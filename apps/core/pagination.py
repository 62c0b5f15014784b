from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (up to 500, so a desktop can load a whole timeline at once)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
