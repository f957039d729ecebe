"""The streaming lesson's FastAPI app."""

from lesson_app.app import create_app

__all__ = ["create_app"]
