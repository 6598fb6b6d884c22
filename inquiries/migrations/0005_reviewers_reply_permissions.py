"""Let the "Inquiry reviewers" group answer from the admin: write and send replies, keep saved
answers up to date, and see (not change) the routing rules."""

from django.db import migrations

GROUP_NAME = "Inquiry reviewers"
PERMISSIONS = [
    ("reply", "view_reply"),
    ("reply", "add_reply"),
    ("savedanswer", "view_savedanswer"),
    ("savedanswer", "add_savedanswer"),
    ("savedanswer", "change_savedanswer"),
    ("routingrule", "view_routingrule"),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

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
    group.permissions.add(
        *(
            Permission.objects.get(
                content_type__app_label="inquiries", content_type__model=model, codename=codename
            )
            for model, codename in PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="inquiries",
                codename__in=[codename for _, codename in PERMISSIONS],
            )
        )


class Migration(migrations.Migration):
    dependencies = [("inquiries", "0004_replies_saved_answers_routing")]

    operations = [migrations.RunPython(grant, revoke)]
