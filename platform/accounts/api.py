"""Sign-up (a new HR admin and their organization), email login, invite acceptance, and my organizations."""
from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from config.throttling import LoginEmailThrottle, LoginIpThrottle, SignupIpThrottle
from tenancy.api import DomainError
from tenancy.models import Membership
from tenancy.services import organization_create

from .models import User
from .services import InviteError, invite_accept


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(write_only=True, trim_whitespace=False, max_length=256, **kwargs)


def _checked_password(password: str, user: User | None = None) -> str:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise serializers.ValidationError({"password": list(exc.messages)}) from None
    return password


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    organization = serializers.CharField(required=False)


class SignupIn(serializers.Serializer):
    email = serializers.EmailField()
    password = PasswordField()
    name = serializers.CharField(max_length=200, required=False, default="")
    organization_name = serializers.CharField(max_length=200)


class SignupApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignupIpThrottle]

    @extend_schema(request=SignupIn, responses={201: TokenOut})
    def post(self, request):
        """Create an HR admin account and their organization; the caller becomes its owner."""
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        email = values["email"].lower()
        if User.objects.filter(email=email).exists():
            raise DomainError("An account with this email already exists. Sign in instead.", code="email_taken",
                              status_code=409)
        _checked_password(values["password"])
        with transaction.atomic():
            user = User.objects.create_user(email, values["password"], name=values["name"])
            organization = organization_create(name=values["organization_name"], owner=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "organization": organization.slug}, status=status.HTTP_201_CREATED)


class LoginIn(serializers.Serializer):
    email = serializers.EmailField()
    password = PasswordField()


class LoginApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    # Per IP and per email: guessing one account's password from many IPs is capped too.
    throttle_classes = [LoginIpThrottle, LoginEmailThrottle]

    @extend_schema(request=LoginIn, responses=TokenOut)
    def post(self, request):
        data = LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["email"].lower(),
                            password=data.validated_data["password"])
        if user is None:
            raise DomainError("The email or password is wrong.", code="invalid_credentials", status_code=401)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class InviteAcceptIn(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    password = PasswordField()
    name = serializers.CharField(max_length=200, required=False, default="")


class InviteAcceptApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(request=InviteAcceptIn, responses=TokenOut)
    def post(self, request):
        """Accept an invite: creates the account (or joins an existing one) and signs in."""
        data = InviteAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        _checked_password(data.validated_data["password"])
        try:
            user = invite_accept(**data.validated_data)
        except InviteError as exc:
            raise DomainError(exc.message, code=exc.code, status_code=400) from None
        token, _ = Token.objects.get_or_create(user=user)
        slug = Membership.objects.filter(user=user).order_by("-id").values_list("organization__slug", flat=True).first()
        return Response({"token": token.key, "organization": slug})


class MembershipOut(serializers.Serializer):
    slug = serializers.CharField(source="organization.slug")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class MyOrganizationsApi(APIView):
    @extend_schema(responses=MembershipOut(many=True))
    def get(self, request):
        memberships = Membership.objects.filter(user=request.user).select_related("organization").order_by("id")
        return Response(MembershipOut(memberships, many=True).data)
