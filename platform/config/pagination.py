"""The API's pagination: DRF's limit/offset with a ceiling on the page size."""
from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class CappedLimitOffsetPagination(LimitOffsetPagination):
    # DRF's default has no ceiling: ?limit=10**28 reached PostgreSQL as a LIMIT beyond bigint (a 500, found by
    # schemathesis), and a large one loads a whole table into one response. Larger limits are cut to this.
    max_limit = 1000

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (f"Number of results per page (default {self.default_limit}; "
                                            f"a larger one is cut to {self.max_limit}).")
        return parameters

