"""One TLS client context per process, for every protocol adapter (IMAP, SMTP, ManageSieve, HTTP).

Building a default context loads the system's CA certificates, ~50 ms of CPU: that was half of
a no-change mail sync when each connection built its own. A context is safe to share between
threads once configured; it is never modified after this function returns it.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()
