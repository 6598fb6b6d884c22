"""Create the "Inquiry reviewers" group with exactly what answering questions needs.

Reviewers may see and change inquiries (status, assignment, notes) and see email deliveries.
They may not delete anything, and may not export: "Can export inquiries as CSV" is granted to
people one by one.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Inquiry reviewers"
PERMISSIONS = [
    ("inquiry", "view_inquiry"),
    ("inquiry", "change_inquiry"),
    ("emaildelivery", "view_emaildelivery"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure ours exist.
    app_config = apps.get_app_config("inquiries")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # migration state apps have none
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = [
        Permission.objects.get(
            content_type__app_label="inquiries", content_type__model=model, codename=codename
        )
        for model, codename in PERMISSIONS
    ]
    group.permissions.set(permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
