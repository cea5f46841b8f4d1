"""Package data (gfd_kg.shapes): this folder is installed inside the package; see
gfd_kg/resources.py."""
