"""digit-reader: read handwritten digits and numbers from images."""
