"""The application as uvicorn loads it (`ooc serve`): configured from the environment."""

from web.app import create_app

app = create_app()
