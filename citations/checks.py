"""System checks for sources.yaml: errors stop `manage.py check`; uncited sources warn."""

from django.core import checks

from citations.catalogue import get_catalogue


@checks.register("citations")
def check_sources(app_configs=None, **kwargs):
    catalogue = get_catalogue()
    messages: list[checks.CheckMessage] = [
        checks.Error(
            str(problem), hint="See content/README.md, Citations.", id=f"citations.{problem.code}"
        )
        for problem in catalogue.problems
    ]
    for source in catalogue.uncited():
        messages.append(
            checks.Warning(
                f"{catalogue.path.name}, source '{source.id}': no page cites it",
                hint=f"Cite it with [@{source.id}] or remove it.",
                id="citations.W001",
            )
        )
    return messages
