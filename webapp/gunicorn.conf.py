# gunicorn picks this file up when started from webapp/. The commented configuration lives in the
# package (src/webapp/gunicorn_conf.py) so an installed wheel or a container image carries it:
#   gunicorn -c python:webapp.gunicorn_conf 'webapp:create_app()'
from webapp.gunicorn_conf import *  # noqa: F403
from webapp.gunicorn_conf import (  # noqa: F401
    child_exit,
    on_exit,
    on_starting,
    post_fork,
    post_worker_init,
    worker_exit,
)
