"""One client per destination, each a thin `requests` implementation of that vendor's documented photo contract."""
