"""Package data (gfd_kg.ontology): this folder is installed inside the package; see
gfd_kg/resources.py."""
