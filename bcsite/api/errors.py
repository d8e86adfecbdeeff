"""Errors in BC's shape: ``{"error": {"code": "...", "message": "..."}}``, never a 500 page."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# DRF's exceptions as BC's error codes.
CODES = {
    exceptions.NotAuthenticated: "Unauthorized",
    exceptions.AuthenticationFailed: "Unauthorized",
    exceptions.PermissionDenied: "Forbidden",
    exceptions.NotFound: "BadRequest_NotFound",
    exceptions.MethodNotAllowed: "BadRequest_MethodNotAllowed",
    exceptions.NotAcceptable: "BadRequest_NotAcceptable",
    exceptions.UnsupportedMediaType: "BadRequest_UnsupportedMediaType",
    exceptions.Throttled: "TooManyRequests",
    exceptions.ParseError: "BadRequest_InvalidRequestBody",
    exceptions.ValidationError: "BadRequest",
}


class ApiError(exceptions.APIException):
    """An error with BC's code: ``raise ApiError(412, "Request_EntityChanged", "...")``."""

    def __init__(self, http_status: int, code: str, message: str, headers=None) -> None:
        super().__init__(message)
        self.status_code = http_status
        self.bc_code = code
        self.headers = headers or {}


def error_response(code: str, message: str, http_status: int, headers=None) -> Response:
    return Response(
        {"error": {"code": code, "message": message}}, status=http_status, headers=headers
    )


def validation_message(error: DjangoValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


def exception_handler(exc, context):
    """DRF's handler, then BC's shape for every error it or the services raise."""
    from bcsite.api.odata import ODataError

    if isinstance(exc, ApiError):
        return error_response(exc.bc_code, str(exc.detail), exc.status_code, exc.headers)
    if isinstance(exc, ODataError):
        return error_response(exc.code, exc.message, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return error_response("BadRequest", validation_message(exc), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in CODES.items() if isinstance(exc, cls)), "BadRequest")
    detail = getattr(exc, "detail", None)
    message = _flatten(detail) if isinstance(detail, dict | list) else str(detail or exc)
    response.data = {"error": {"code": code, "message": message}}
    return response


def _flatten(detail, prefix: str = "") -> str:
    if isinstance(detail, dict):
        return " ".join(_flatten(v, f"{k}: ") for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v, prefix) for v in detail)
    return f"{prefix}{detail}"
