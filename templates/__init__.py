# The site's Jinja2 templates: a data-only subpackage (see gfd_kg/resources.py).
