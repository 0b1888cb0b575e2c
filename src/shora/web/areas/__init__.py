"""Page areas: each module has `routes` and its templates in templates/<area>/."""
