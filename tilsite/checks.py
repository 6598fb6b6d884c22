"""System checks for the content: every problem in content/ stops `manage.py check`."""

from django.core import checks

from tilsite.pages import get_registry


@checks.register("content")
def check_content(app_configs=None, **kwargs):
    messages = []
    for problem in get_registry().problems:
        level = checks.Warning if problem.warning else checks.Error
        hint = "See content/README.md for the rules pages follow."
        messages.append(level(str(problem), hint=hint, id=f"content.{problem.code}"))
    return messages
