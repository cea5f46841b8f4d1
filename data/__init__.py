"""Package data (gfd_kg.data): this folder is installed inside the package; see
gfd_kg/resources.py."""
