from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_POST

from apps.accounts.app_passwords import (
    NewAppPassword,
    app_password_create,
    app_password_for_user,
    app_password_revoke,
    app_passwords_of,
)
from apps.accounts.forms import AppPasswordForm, ProfileForm
from apps.accounts.models import User as UserModel
from apps.accounts.services import (
    user_ldap_fields,
    user_remove_avatar,
    user_set_avatar,
    user_update_directory_fields,
    user_update_profile,
)

User = get_user_model()


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, UserModel)  # login_required: never anonymous here
    initial = {
        "display_name": user.display_name,
        "language": user.language,
        "time_zone": user.time_zone,
        "theme": user.theme,
        "phone": user.phone,
        "job_title": user.job_title,
    }
    has_avatar = bool(user.avatar)
    ldap_fields = user_ldap_fields(user=user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, initial=initial, has_avatar=has_avatar, ldap_fields=ldap_fields)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    user_update_profile(
                        user=user,
                        display_name=data["display_name"],
                        language=data["language"],
                        time_zone=data["time_zone"],
                        theme=data["theme"],
                    )
                    user_update_directory_fields(user=user, phone=data["phone"], job_title=data["job_title"])
                    if data.get("remove_avatar"):
                        user_remove_avatar(user=user)
                    elif data.get("avatar"):
                        user_set_avatar(user=user, upload=data["avatar"])
            except ValidationError as error:
                user.refresh_from_db()
                form.add_error(
                    "avatar" if error.code not in ("language", "time_zone", "theme", "ldap") else None, error
                )
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("accounts:profile")
    else:
        form = ProfileForm(initial=initial, has_avatar=has_avatar, ldap_fields=ldap_fields)
    return _render_profile(request, user, form)


@login_required
@cache_control(private=True, max_age=3600)
def avatar(request: HttpRequest, user_id: int) -> FileResponse:
    """Avatars are visible to every signed-in user of the instance (the directory shows them)."""
    person = get_object_or_404(User, pk=user_id, is_active=True)
    if not person.avatar:
        raise Http404
    response = FileResponse(person.avatar.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- app passwords (a section of the profile)
def _profile_form_for(user: UserModel) -> ProfileForm:
    initial = {
        "display_name": user.display_name,
        "language": user.language,
        "time_zone": user.time_zone,
        "theme": user.theme,
        "phone": user.phone,
        "job_title": user.job_title,
    }
    return ProfileForm(initial=initial, has_avatar=bool(user.avatar), ldap_fields=user_ldap_fields(user=user))


def _render_profile(
    request: HttpRequest,
    user: UserModel,
    form: ProfileForm,
    *,
    app_password_form: AppPasswordForm | None = None,
    new_app_password: NewAppPassword | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "app_passwords": app_passwords_of(user=user),
        "app_password_form": app_password_form or AppPasswordForm(),
        "new_app_password": new_app_password,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_POST
@never_cache  # the answer holds the only copy of the secret: no cache may keep it
def app_password_add(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, UserModel)  # login_required: never anonymous here
    form = AppPasswordForm(request.POST)
    if form.is_valid():
        try:
            created = app_password_create(user=user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error)
        else:
            # Rendered, not redirected: the secret is shown once and never stored, not even in the session.
            return _render_profile(request, user, _profile_form_for(user), new_app_password=created)
    return _render_profile(request, user, _profile_form_for(user), app_password_form=form, status=400)


@login_required
@require_POST
def app_password_delete(request: HttpRequest, app_password_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, UserModel)  # login_required: never anonymous here
    app_password = app_password_for_user(user=user, app_password_id=app_password_id)
    app_password_revoke(app_password=app_password)
    messages.success(request, _("The app password “%(name)s” is revoked.") % {"name": app_password.name})
    return redirect(f"{reverse('accounts:profile')}#app-passwords")
