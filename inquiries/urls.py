"""URLs of the question form (mounted at /contact/)."""

app_name = "inquiries"
urlpatterns = []
