"""The DAV entry points: authenticate (HTTP Basic), resolve the path, call the method's handler.

Everything protocol-specific lives in handlers/props/reports; this view only maps errors to
answers, so no body a client sends can end in a 500.
"""

from __future__ import annotations

import base64
import binascii
import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.views.decorators.csrf import csrf_exempt

from apps.accounts.app_passwords import dav_basic_authenticate_cached
from apps.accounts.models import User
from apps.dav import xml
from apps.dav.errors import DavError
from apps.dav.handlers import ALLOW, HANDLERS, XML_TYPE
from apps.dav.resources import ROOT, resolve

logger = logging.getLogger(__name__)
CHALLENGE = 'Basic realm="Ruche", charset="UTF-8"'


def basic_user(request: HttpRequest) -> User | None:
    """The user of the request's HTTP Basic credentials (app password, or password without 2FA)."""
    scheme, _sep, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    username, sep, password = decoded.partition(":")
    if not sep or not username or len(username) > 150 or len(password) > 1024:
        return None
    return dav_basic_authenticate_cached(username, password)


def error_response(error: DavError) -> HttpResponse:
    if error.condition is not None:
        body = xml.error_body(error.condition, error.message, error.extra)
        response = HttpResponse(body.encode(), status=error.status, content_type=XML_TYPE)
    else:
        response = HttpResponse(
            (error.message or "").encode(), status=error.status, content_type="text/plain; charset=utf-8"
        )
    for name, value in error.headers.items():
        response[name] = value
    return response


@csrf_exempt
def dav(request: HttpRequest) -> HttpResponse:
    handler = HANDLERS.get(request.method or "")
    user = basic_user(request)
    if user is None:
        response = HttpResponse(b"Authentication required.\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = CHALLENGE
        return response
    if handler is None:
        response = HttpResponse(status=405)
        response["Allow"] = ALLOW
        return response
    # request.path is already percent-decoded; split it, never decode it twice.
    segments = [s for s in request.path[len(ROOT) :].split("/") if s] if request.path.startswith(ROOT) else []
    try:
        return handler(request, resolve(user, segments))
    except (DavError, xml.XmlError, RecursionError, Http404) as error:
        return error_response(_as_dav_error(error))


def _as_dav_error(error: Exception) -> DavError:
    if isinstance(error, DavError):
        return error
    if isinstance(error, xml.XmlError):
        return DavError(400, message=f"Malformed XML: {error}")
    if isinstance(error, RecursionError):  # absurdly deep XML reaching a recursive walk (itertext)
        return DavError(400, message="The XML is nested too deeply.")
    return DavError(404)


@csrf_exempt
def well_known(request: HttpRequest) -> HttpResponse:
    """RFC 6764: /.well-known/carddav and /.well-known/caldav lead to the DAV root."""
    return HttpResponsePermanentRedirect(ROOT)
