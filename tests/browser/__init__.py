"""Real-browser tests (JupyterLab + Debian Chromium through Playwright); fixtures in conftest.py."""
