"""moto's server, single-threaded, for the end-to-end tests: `moto_server`
always runs threaded, and threaded its conditional writes (If-None-Match)
are not atomic under contention; one request at a time they are.

    python3 moto_s3.py PORT
"""

import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
