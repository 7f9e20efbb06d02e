from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.exports, name="exports"),
    path("progress/", views.export_progress, name="export_progress"),
    path("<uuid:job_id>/", views.export_detail, name="export_detail"),
    path("<uuid:job_id>/download/", views.export_download, name="export_download"),
]
