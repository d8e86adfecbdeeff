from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from records.middleware import SESSION_KEY


@require_POST
@login_required
def company_switch(request: HttpRequest) -> HttpResponse:
    """Work in another of the user's companies; anyone else's company does not exist here."""
    raw = request.POST.get("company", "")
    # Only plain, bounded numbers reach the database: anything else is no company of theirs.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise Http404("No such company.")
    membership = get_object_or_404(
        request.user.memberships.select_related("company"), company_id=int(raw)
    )
    request.session[SESSION_KEY] = membership.company_id
    messages.info(request, f"You are now working in {membership.company}.")
    # Records of the previous company would not open any more, so start from the role centre.
    return redirect("home")
