class ApplicationError(Exception):
    """An action the application refuses: wrong state, wrong user, a rule broken.

    The message is written for the person who tried: views show it as a message,
    admin actions as an error notice. It never becomes a 500.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidTransition(ApplicationError):
    """The object is not in a state that allows this action (any more)."""
