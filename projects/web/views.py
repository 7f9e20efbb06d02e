"""Server-rendered pages for projects on a tenant host."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from projects.selectors import project_list


@login_required
def dashboard(request):
    projects = project_list(tenant=request.tenant, user=request.user)[:20]
    return render(request, "projects/dashboard.html", {"projects": projects})
