class ExpressionError(Exception):
    """A mistake in a flow's dynamic content that its author can fix.

    ``message`` is shown to people as it is; it names the position (0-based, counted in the
    expression text or, from ``render`` and ``check``, in the input string) when one is known.
    """

    def __init__(self, description: str, position: int | None = None) -> None:
        self.description = description
        self.position = position
        if position is None:
            self.message = description
        else:
            self.message = f"{description} at position {position}"
        super().__init__(self.message)

    def shifted(self, offset: int) -> "ExpressionError":
        """The same error, its position counted from ``offset`` characters earlier."""
        if self.position is None or offset == 0:
            return self
        return ExpressionError(self.description, self.position + offset)
