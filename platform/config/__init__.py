"""Django project configuration: settings from the environment, URLs, and the dramatiq broker."""
