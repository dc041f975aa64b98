from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate

from bounceadmin.datadir import data_folder_require


class Command(DjangoMigrate):
    """Django's `migrate`, refusing first to run before `init_data`: the system checks it runs
    open the database, which on SQLite without its folder fails with a bare "unable to open
    database file" before the data-folder check could name the command to run."""

    def execute(self, *args, **options):
        try:
            data_folder_require()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        return super().execute(*args, **options)
