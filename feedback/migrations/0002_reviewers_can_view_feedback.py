"""Let the "Inquiry reviewers" group see page feedback, and with it the content dashboard.

Viewing only: what readers wrote cannot be changed by anyone, and reviewers may not delete it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Inquiry reviewers"  # made by inquiries/migrations/0002
PERMISSIONS = [("feedback", "view_feedback")]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure ours exist.
    app_config = apps.get_app_config("feedback")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # migration state apps have none
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    for model, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(
                content_type__app_label="feedback", content_type__model=model, codename=codename
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="feedback",
                codename__in=[codename for _, codename in PERMISSIONS],
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0001_initial"),
        ("inquiries", "0002_inquiry_reviewers_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
