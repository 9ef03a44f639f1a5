"""Built-in plugins: each registers through the same hooks a third-party package uses.

A module whose name starts with an underscore is a helper, never a plugin;
every other module here is listed in ``manager.DEFAULT_PLUGINS``.
"""
