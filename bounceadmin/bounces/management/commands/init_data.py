from django.core.management.base import BaseCommand

from bounceadmin.datadir import data_folder_prepare


class Command(BaseCommand):
    help = (
        "Create what the embedded defaults need before any other process runs (the first step of"
        " `make run`): the SQLite database's folder, the filesystem broker's folders and, while"
        " SECRET_KEY is unset, a random key in DATA_DIR/secret_key (mode 0600). Leaves what"
        " exists alone; with PostgreSQL, Redis and SECRET_KEY set, there is nothing to create."
    )
    requires_system_checks = []  # the data-folder check would stop the command that satisfies it

    def handle(self, *args, **options):
        for path in data_folder_prepare():
            if options["verbosity"] >= 1:
                self.stdout.write(f"Created {path}")
