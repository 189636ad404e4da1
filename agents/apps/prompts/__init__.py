"""The layout every prompt app's four parts are rendered into (``layout.yaml``)."""
