"""Employee endpoints: admins manage teams and employees (one by one or from a CSV); employees read their own."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.parsers import FormParser, MultiPartParser
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .api import MyEndpoint
from .employees import (
    CSV_MAX_BYTES,
    CSV_MAX_REPORTED,
    CsvImportRefused,
    employee_create,
    employee_delete,
    employee_update,
    employees_import_csv,
    team_get_or_create,
)
from .models import (
    DEPARTMENT_MAX_LENGTH,
    EMPLOYEE_NUMBER_MAX_LENGTH,
    MANAGER_NAME_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Employee,
    Team,
)
from .selectors import employee_get, employee_list


class TeamOut(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "created_at"]


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class EmployeeOut(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", default=None, allow_null=True)  # null: in no team
    has_account = serializers.SerializerMethodField()
    manager = serializers.IntegerField(source="manager_id", allow_null=True,
                                       help_text="the manager's employee id here; null when not linked")
    manager_name = serializers.CharField(source="manager_display",
                                         help_text="the linked manager's name, else the name the directory gave")

    class Meta:
        model = Employee
        fields = ["id", "name", "email", "external_id", "external_ids", "team", "title", "department",
                  "employee_number", "manager", "manager_name", "has_account", "active", "deactivated_at",
                  "created_at", "updated_at"]

    def get_has_account(self, employee: Employee) -> bool:
        return employee.user_id is not None


class EmployeeDirectoryIn(serializers.Serializer):
    """Directory facts HR keeps (also set by SCIM): title, department, employee number, manager."""

    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False, allow_blank=True)
    department = serializers.CharField(max_length=DEPARTMENT_MAX_LENGTH, required=False, allow_blank=True)
    employee_number = serializers.CharField(max_length=EMPLOYEE_NUMBER_MAX_LENGTH, required=False, allow_blank=True)
    manager = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True,
                                       help_text="the id of another employee of this organization; null: none")
    manager_name = serializers.CharField(max_length=MANAGER_NAME_MAX_LENGTH, required=False, allow_blank=True,
                                         help_text="the manager's name, for a manager who isn't an employee here")


class EmployeeIn(EmployeeDirectoryIn):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    external_id = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    external_ids = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    team = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)


class EmployeePatchIn(EmployeeDirectoryIn):
    name = serializers.CharField(max_length=200, required=False)
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    external_ids = serializers.DictField(child=serializers.CharField(), required=False)
    team = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    active = serializers.BooleanField(required=False, help_text="false deactivates: access ends, pushes stop")


def _with_references(organization, validated: dict) -> dict:
    """The validated input with the manager id replaced by that employee (looked up in this organization only) and
    the team name by that team (made on first use; blank or null: no team)."""
    values = dict(validated)
    if values.get("manager") is not None:
        manager = employee_get(organization=organization, employee_id=values["manager"])
        if manager is None:
            # The same answer whether the id is unused or another organization's: ids of other tenants stay opaque.
            raise DomainError(f"No employee {values['manager']} in this organization to be the manager.",
                              code="invalid_manager")
        values["manager"] = manager
    if "team" in values:
        name = values["team"]
        values["team"] = team_get_or_create(organization=organization, name=name) if name else None
    return values


class ImportOut(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="always empty: a file with a bad row is "
                                                                          "refused whole (400)")


class ImportRowErrorOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="the line of the file (the header is line 1)")
    column = serializers.CharField()
    error = serializers.CharField()


class ImportRowErrorsOut(serializers.Serializer):
    rows = ImportRowErrorOut(many=True, required=False,
                             help_text=f"every problem of every bad row, the first {CSV_MAX_REPORTED}")


class ImportRefusedOut(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="csv_rows_invalid when rows are listed in errors; csv_header, "
                                           "csv_encoding, csv_malformed or csv_too_large for the whole file")
    errors = ImportRowErrorsOut(required=False)


class CsvIn(serializers.Serializer):
    file = serializers.FileField(help_text=f"A UTF-8 CSV of at most {CSV_MAX_BYTES // 2**20} MB with a header row: "
                                           f"name,email[,external_id][,team].")


class TeamListApi(OrganizationAdminEndpoint):
    tenant_model = Team
    serializer_class = TeamOut

    @extend_schema(responses=TeamOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.get_queryset())

    @extend_schema(request=TeamIn, responses={201: TeamOut})
    def post(self, request, org_slug: str):
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_get_or_create(organization=self.organization, name=data.validated_data["name"])
        return Response(TeamOut(team).data, status=status.HTTP_201_CREATED)


class EmployeeListApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    serializer_class = EmployeeOut

    @extend_schema(responses=EmployeeOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(employee_list(organization=self.organization))

    @extend_schema(request=EmployeeIn, responses={201: EmployeeOut})
    def post(self, request, org_slug: str):
        data = EmployeeIn(data=request.data)
        data.is_valid(raise_exception=True)
        employee = employee_create(organization=self.organization,
                                   **_with_references(self.organization, data.validated_data))
        return Response(EmployeeOut(employee).data, status=status.HTTP_201_CREATED)


class EmployeeDetailApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    serializer_class = EmployeeOut
    lookup_url_kwarg = "employee_id"

    @extend_schema(responses=EmployeeOut)
    def get(self, request, org_slug: str, employee_id: int):
        return Response(EmployeeOut(self.get_object()).data)

    @extend_schema(request=EmployeePatchIn, responses=EmployeeOut)
    def patch(self, request, org_slug: str, employee_id: int):
        employee = self.get_object()
        data = EmployeePatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        employee = employee_update(employee=employee, **_with_references(self.organization, data.validated_data))
        return Response(EmployeeOut(employee).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, employee_id: int):
        """Delete the employee and their data; their access here ends (409 for the organization's last owner)."""
        employee_delete(employee=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmployeeImportApi(OrganizationAdminEndpoint):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = CsvIn

    @extend_schema(request=CsvIn, responses={200: ImportOut, 400: ImportRefusedOut})
    def post(self, request, org_slug: str):
        """Import employees from a CSV of at most 5 MB, UTF-8 (header: name,email[,external_id][,team]); rows upsert
        by email. All or nothing: if any row is bad (a column longer than the field's maximum length, an invalid or
        repeated email, an external ID that is another person's, a NUL character), nothing is stored and the 400
        lists every problem by line and column."""
        data = CsvIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            result = employees_import_csv(organization=self.organization, data=upload.read(upload.size + 1))
        except CsvImportRefused as exc:
            return Response({"detail": exc.message, "code": exc.code, "errors": {"rows": exc.rows}},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": len(result.created), "updated": len(result.updated), "errors": []})


class MeApi(MyEndpoint):
    serializer_class = EmployeeOut

    @extend_schema(responses=EmployeeOut)
    def get(self, request, org_slug: str):
        return Response(EmployeeOut(self.employee()).data)
