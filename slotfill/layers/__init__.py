"""Custom Keras layers; importing this package registers them for deserialization."""
