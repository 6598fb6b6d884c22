"""URLs of the citations app (mounted at /sources/)."""

from django.urls import path

from citations import views

app_name = "citations"
urlpatterns = [path("", views.source_list, name="list")]
