"""URLs of the question form (mounted at /contact/)."""

from django.urls import path

from inquiries import views

app_name = "inquiries"
urlpatterns = [
    path("", views.contact, name="contact"),
    path("thank-you/", views.thanks, name="thanks"),
    path("status/<str:token>/", views.status, name="status"),
]
