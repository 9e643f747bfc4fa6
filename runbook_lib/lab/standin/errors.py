"""The one exception that stops a stand-in node's start-up."""


class StartupError(Exception):
    """Start-up fails: MESSAGE is logged at ERROR under LOGGER (Carbon layout)
    and the node exits, as the real server does."""

    def __init__(self, message: str, logger: str = "org.wso2.carbon.core.init.CarbonServerManager"):
        super().__init__(message)
        self.message = message
        self.logger = logger
