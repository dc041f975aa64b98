import os

from django.core.wsgi import get_wsgi_application

from bounceadmin.datadir import data_folder_require

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")
application = get_wsgi_application()
data_folder_require()  # refuse to start, naming `init_data`, rather than fail on the first page
