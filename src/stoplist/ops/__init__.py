"""Running Stoplist in production: health and readiness probes, Prometheus metrics, JSON logs.

    install_ops(app)            /healthz, /readyz, /metrics and the request-metrics middleware
    configure_logging(format)   text or JSON lines on standard error (STOPLIST_LOG_FORMAT)
    uvicorn_log_config(format)  the same, for uvicorn.run(..., log_config=...)
"""

from stoplist.ops.health import NotReady
from stoplist.ops.install import install_ops
from stoplist.ops.logs import configure_logging, uvicorn_log_config

__all__ = ["NotReady", "configure_logging", "install_ops", "uvicorn_log_config"]
