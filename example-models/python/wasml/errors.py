"""The errors a model raises; each maps to a case of the WIT ``model-error`` variant."""

from wit_world.imports import types


class ModelError(Exception):
    """Base class of the errors a model raises on purpose."""

    def to_wit(self):
        """The WIT ``model-error`` case for this error."""
        return types.ModelError_Internal(str(self))


class InvalidInput(ModelError):
    """The tasks, context or payload cannot be used by this model (HTTP 422)."""

    def to_wit(self):
        return types.ModelError_InvalidInput(str(self))


class UnsupportedConfig(ModelError):
    """The label config lacks what this model needs (HTTP 422)."""

    def to_wit(self):
        return types.ModelError_UnsupportedConfig(str(self))
