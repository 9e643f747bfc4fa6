"""The exceptions that stop a stand-in node's start-up."""


class StartupError(Exception):
    """Start-up fails: MESSAGE is logged at ERROR under LOGGER (Carbon layout)
    and the node exits, as the real server does."""

    def __init__(self, message: str, logger: str = "org.wso2.carbon.core.init.CarbonServerManager",
                 trace: str = ""):
        super().__init__(message)
        self.message = message
        self.logger = logger
        self.trace = trace


class Stalled(StartupError):
    """Start-up stops part way but the process stays up and never logs
    "WSO2 Carbon started" (a datasource whose pool cannot be created:
    SOURCES.md rows D1-D2). Logged at ERROR with TRACE on the lines after."""
