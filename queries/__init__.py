"""Package data (gfd_kg.queries): this folder is installed inside the package; see
gfd_kg/resources.py."""
