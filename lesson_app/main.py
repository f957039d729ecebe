"""The lesson app, ready for ``uvicorn lesson_app.main:app``."""

from lesson_app.app import create_app

app = create_app()
