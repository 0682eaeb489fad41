"""One logger per function, and the domain modules' log lines in the same JSON.

Domain modules log through ``logging.getLogger("autopilot.<module>")`` (they must not know
which function runs them). :func:`function_logger` gives the function its Powertools
``Logger`` and hands that logger's handler to the ``autopilot`` logger, so every line a domain
module writes is Powertools JSON with the service, the function name, the correlation id (the
order, transaction or deal being worked on) and the level — the same as the handler's own.

The level is Powertools' ``POWERTOOLS_LOG_LEVEL`` (the template's ``LogLevel``; local mode's
default is INFO).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

DOMAIN_LOGGER = "autopilot"


def function_logger(service: str) -> Logger:
    """The function's Powertools logger; ``autopilot.*`` lines go through its handler."""
    logger = Logger(service=service)
    route_domain_logs(logger)
    return logger


def route_domain_logs(logger: Logger) -> None:
    """Send the ``autopilot.*`` lines through ``logger``'s handler (its JSON, keys and level).

    Called again by each handler invocation where one module holds several functions' loggers
    (the bank module: worker and statement import), so the lines carry the running one's keys.
    """
    logging.getLogger(DOMAIN_LOGGER)  # registered, so the copy below finds it
    copy_config_to_registered_loggers(source_logger=logger, include={DOMAIN_LOGGER})
