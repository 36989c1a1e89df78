"""Sign-up (a new HR admin and their organization), email login, invite acceptance, and my organizations."""
from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from config.throttling import LoginEmailThrottle, LoginIpThrottle, SignupIpThrottle
from tenancy.access import session_has_own_proof
from tenancy.api import DomainError
from tenancy.models import Membership

from .models import User
from .services import invite_accept, signup_start, signup_verify


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


class SignupStartedOut(serializers.Serializer):
    status = serializers.CharField(help_text="verification_sent: a 6-digit code was emailed to the address")
    email = serializers.EmailField()


class SignupApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignupIpThrottle]

    @extend_schema(request=SignupIn, responses={202: SignupStartedOut})
    def post(self, request):
        """Start creating an HR admin account and its organization: a code goes to the address, and
        `auth/signup/verify` with it creates both (nothing exists before the address is proven)."""
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        _checked_password(values["password"])
        signup_start(email=values["email"], password=values["password"], name=values["name"],
                     organization_name=values["organization_name"])
        return Response({"status": "verification_sent", "email": values["email"].lower()},
                        status=status.HTTP_202_ACCEPTED)


class SignupVerifyIn(serializers.Serializer):
    email = serializers.EmailField()
    code = serializers.CharField(max_length=20)


class SignupVerifyApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    # Checking a code is like a sign-in: the same per-IP limit against guessing.
    throttle_classes = [LoginIpThrottle]

    @extend_schema(request=SignupVerifyIn, responses={201: TokenOut})
    def post(self, request):
        """The emailed code creates the account and the organization; the caller is its owner."""
        data = SignupVerifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, organization = signup_verify(**data.validated_data)
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
    password = PasswordField(required=False, help_text="A new account's password, or the existing account's own "
                                                       "password; leave out when signed in as the invited address")
    name = serializers.CharField(max_length=200, required=False, default="")


class InviteAcceptApi(APIView):
    permission_classes = [permissions.AllowAny]
    # Optional: a caller signed in to the invited address's account accepts without a password.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    throttle_classes = [LoginIpThrottle]

    @extend_schema(request=InviteAcceptIn, responses=TokenOut)
    def post(self, request):
        """Accept an invite with proof of control of the invited address's account: signed in to it, its own
        password, or (no account yet) the emailed token plus the new account's password."""
        data = InviteAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # A session an identity provider made counts for its organization only, never as the account's own proof.
        signed_in = (request.user if request.user.is_authenticated
                     and (request.auth is not None or session_has_own_proof(request)) else None)
        try:  # one look-up of the invite: the service checks a new account's password itself
            user = invite_accept(token=values["token"], password=values.get("password"), name=values["name"],
                                 signed_in_user=signed_in)
        except ValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
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
