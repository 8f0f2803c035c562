"""`ganforge serve RUN`: a small web API and page over a trained generator. It imports the model
loading and the apps, never the training code."""

from ganforge.serve.app import Limits, create_app

__all__ = ["Limits", "create_app"]
