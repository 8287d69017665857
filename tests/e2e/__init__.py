"""End-to-end tests: the real application served by uvicorn, driven in headless Chromium."""
