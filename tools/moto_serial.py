"""moto server, answering one request at a time.

moto's own `moto_server` serves requests on threads and does not lock its backends, so
two concurrent conditional writes (or transactions) can both pass their conditions: a
race real DynamoDB never loses. Serving requests one at a time makes each call atomic,
as it is in AWS, so the race tests measure the code rather than the emulator.
"""

import argparse

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
